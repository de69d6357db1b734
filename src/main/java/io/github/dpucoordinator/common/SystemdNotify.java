package io.github.dpucoordinator.common;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells systemd that a {@code Type=notify} service is ready, once its APIs are bound: when {@code NOTIFY_SOCKET} is set,
 * {@code systemd-notify --ready} runs with this process's pid (the units set {@code NotifyAccess=all}). Without
 * systemd, nothing happens; a failure to tell it is logged, and the service runs on (systemd then times the start out).
 */
public final class SystemdNotify {
  private static final Logger log = LoggerFactory.getLogger(SystemdNotify.class);

  private SystemdNotify() {}

  public static void ready(String status) {
    String socket = System.getenv("NOTIFY_SOCKET");
    if (socket != null && !socket.isEmpty()) {
      ready(socket, status);
    }
  }

  /** Sends READY=1, STATUS and MAINPID to {@code socket}; whether systemd-notify said it did. */
  static boolean ready(String socket, String status) {
    List<String> cmd = List.of("systemd-notify", "--no-block", "--ready", "--pid=" + ProcessHandle.current().pid(), "--status=" + status);
    try {
      ProcessBuilder b = new ProcessBuilder(cmd).redirectErrorStream(true);
      b.environment().put("NOTIFY_SOCKET", socket);
      Process p = b.start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        log.warn("systemd-notify --ready failed ({}): systemd will not see this service as started", out);
        return false;
      }
      return true;
    } catch (java.io.IOException e) {
      log.warn("cannot run systemd-notify ({}): systemd will not see this service as started", e.getMessage());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
