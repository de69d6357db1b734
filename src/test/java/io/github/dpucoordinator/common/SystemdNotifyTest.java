package io.github.dpucoordinator.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * With systemd's tools (-Psystem-tools; .ci/run installs systemd when they are missing): the readiness a Type=notify unit
 * waits for reaches a real notify socket (a datagram socket bound by python3, as systemd binds one), and the shipped
 * units pass {@code systemd-analyze verify}.
 */
@org.junit.jupiter.api.Tag("needs-systemd")
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class SystemdNotifyTest {
  @Test
  void readyReachesTheNotifySocketWithThisProcesssPid(@TempDir Path dir) throws Exception {
    Path socket = dir.resolve("notify");
    Process listener = new ProcessBuilder("python3", "-c", "import socket,sys\n"
        + "s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print('bound', flush=True); s.settimeout(30)\n"
        + "sys.stdout.write(s.recv(4096).decode())\n", socket.toString()).start();
    var out = new java.io.BufferedReader(new java.io.InputStreamReader(listener.getInputStream(), StandardCharsets.UTF_8));
    assertEquals("bound", out.readLine());
    assertTrue(SystemdNotify.ready(socket.toString(), "NPU service up"), "systemd-notify ran");
    assertTrue(listener.waitFor(30, TimeUnit.SECONDS));
    String message = String.join("\n", out.lines().toList());
    assertTrue(message.contains("READY=1"), message);
    assertTrue(message.contains("STATUS=NPU service up"), message);
    assertTrue(message.contains("MAINPID=" + ProcessHandle.current().pid()), message);
  }

  @Test
  void theShippedServiceUnitsVerify() throws Exception {
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("systemd-analyze", "verify"));
    try (var units = java.nio.file.Files.list(Path.of("deploy/systemd"))) {
      units.filter(u -> u.toString().endsWith(".service")).sorted().forEach(u -> cmd.add(u.toAbsolutePath().toString()));
    }
    assertEquals(5, cmd.size(), "three units: " + cmd);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    assertEquals("", out.strip(), "systemd-analyze found nothing to say");
  }
}
