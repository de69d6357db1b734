package io.github.dpucoordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.sim.ImageTarballs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `dpuctl containerz` served alone (a JVM of its own) and driven by the client commands as an operator would: push with
 * progress, lists as tables and JSON, a container started for a DPU with its log, stopped and removed; refusals exit 3,
 * an unreachable server 4, a bad flag 2.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ContainerzCliTest {
  @TempDir
  static Path dir;
  private Process server;
  private String address;

  @BeforeAll
  void serve() throws Exception {
    Path out = dir.resolve("server.out");
    List<String> cmd = new java.util.ArrayList<>(DpuctlJvm.command(List.of()));
    cmd.addAll(List.of("containerz", "--data-dir", dir.resolve("data").toString(), "--port", "0"));
    server = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    Pattern up = Pattern.compile("Containerz up on /127\\.0\\.0\\.1:(\\d+)");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (address == null) {
      Matcher m = up.matcher(Files.exists(out) ? Files.readString(out) : "");
      if (m.find()) {
        address = "127.0.0.1:" + m.group(1);
      } else {
        assertTrue(server.isAlive() && System.nanoTime() < deadline, "the server did not come up: " + Files.readString(out));
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // the server's own JVM: nothing to probe but its output
      }
    }
  }

  @AfterAll
  void stop() throws Exception {
    server.destroy();
    assertTrue(server.waitFor(30, TimeUnit.SECONDS));
  }

  private CliRunner.Run dpuctl(String... args) {
    List<String> all = new java.util.ArrayList<>(List.of(args));
    all.addAll(List.of("--address", address));
    return CliRunner.dpuctl(all.toArray(String[]::new));
  }

  @Test
  void anOperatorPushesStartsFollowsAndRemovesAContainer() throws Exception {
    Path tarball = ImageTarballs.scriptImage(dir.resolve("echo.tar"), "offload/echo", "1",
        "echo \"started $IMAGE greeting=$GREETING\"\nwhile :; do sleep 0.1 & wait $!; done\n");
    CliRunner.Run push = dpuctl("containerz", "image", "push", "--image", "offload/echo", "--tag", "1", "--file", tarball.toString());
    assertEquals(0, push.exit(), push.err());
    assertTrue(push.out().contains("offload/echo:1 pushed (" + Files.size(tarball) + " bytes)"), push.out());
    assertTrue(push.err().contains("pushed ") && push.err().contains(" MiB"), push.err());
    CliRunner.Run images = dpuctl("containerz", "image", "list", "--json");
    assertTrue(images.out().contains("\"name\" : \"offload/echo\"") && images.out().contains("\"id\" : \"sha256:"), images.out());

    CliRunner.Run start = dpuctl("containerz", "container", "start", "--image", "offload/echo", "--tag", "1", "--instance", "e1",
        "--env", "GREETING=cli", "--dpu", "DPU3", "--restart_policy", "on-failure:2");
    assertEquals(0, start.exit(), start.err());
    assertEquals("e1 started\n", start.out());
    CliRunner.Run list = dpuctl("containerz", "container", "list");
    assertTrue(list.out().lines().anyMatch(l -> l.matches("e1 +offload/echo:1 +RUNNING +DPU3")), list.out());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    CliRunner.Run logs = dpuctl("containerz", "container", "logs", "--instance", "e1");
    while (!logs.out().contains("started offload/echo:1 greeting=cli") && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // the container's output reaches its log file by itself
      logs = dpuctl("containerz", "container", "logs", "--instance", "e1");
    }
    assertTrue(logs.out().contains("started offload/echo:1 greeting=cli"), logs.out() + logs.err());

    assertEquals(0, dpuctl("containerz", "container", "stop", "--instance", "e1").exit());
    CliRunner.Run stopped = dpuctl("containerz", "container", "list", "--all", "--json");
    assertTrue(stopped.out().contains("\"status\" : \"STOPPED\"") && stopped.out().contains("\"dpu\" : \"DPU3\""), stopped.out());
    CliRunner.Run inUse = dpuctl("containerz", "image", "remove", "--image", "offload/echo", "--tag", "1");
    assertEquals(ExitCodes.REFUSED, inUse.exit(), inUse.out());
    assertTrue(inUse.err().contains("FAILED_PRECONDITION") && inUse.err().contains("used by the container e1"), inUse.err());
    assertEquals(0, dpuctl("containerz", "container", "remove", "--instance", "e1").exit());
    assertEquals(0, dpuctl("containerz", "image", "remove", "--image", "offload/echo", "--tag", "1").exit());
    assertEquals("NAME                     IMAGE                            STATUS   DPU\n", dpuctl("containerz", "container", "list", "--all").out());
  }

  @Test
  void refusalsUnreachableServersAndBadFlagsHaveTheirExitCodes() throws Exception {
    CliRunner.Run missing = dpuctl("containerz", "container", "stop", "--instance", "nobody");
    assertEquals(ExitCodes.REFUSED, missing.exit());
    assertTrue(missing.err().contains("NOT_FOUND: no container instance nobody"), missing.err());
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    CliRunner.Run unreachable = CliRunner.dpuctl("containerz", "image", "list", "--address", "127.0.0.1:" + closed);
    assertEquals(ExitCodes.UNREACHABLE, unreachable.exit(), unreachable.err());
    CliRunner.Run usage = dpuctl("containerz", "container", "start", "--image", "x", "--restart_policy", "sometimes");
    assertEquals(ExitCodes.USAGE, usage.exit(), usage.err());
    assertTrue(usage.err().contains("--restart_policy sometimes"), usage.err());
  }
}
