package io.github.dpucoordinator.common;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Loopback ports for simulations and benchmarks. */
public final class Ports {
  private Ports() {}

  /** A loopback port nobody listens on right now: bound once to pick it, then released. */
  public static int freeLoopbackPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
