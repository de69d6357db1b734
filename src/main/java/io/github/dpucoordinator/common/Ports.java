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

  /** Established TCP connections to port {@code port} on this host, as the kernel lists them (/proc/net/tcp and tcp6). */
  public static long establishedTo(int port) throws IOException {
    String remote = String.format(":%04X", port);
    long n = 0;
    for (String table : java.util.List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      java.util.List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of(table));
      for (String line : lines.subList(1, lines.size())) { // after the heading: sl local remote state ...
        String[] f = line.trim().split("\\s+");
        if (f[2].endsWith(remote) && f[3].equals("01")) {
          n++;
        }
      }
    }
    return n;
  }
}
