package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.cli.CliRunner;
import io.github.dpucoordinator.cli.CliRunner.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a new user meets in the first hour, as separate `dpuctl` processes: the default data dir works from
 * any directory, and every configuration or data-dir problem is one line naming the file, key, variable or
 * path and what is wrong, with exit 5 and no stack trace.
 */
class FirstContactTest {
  private static final Map<String, String> QUIET_PORTS = Map.of("DPUCOORD_ADMIN_PORT", "0", "DPUCOORD_DPU_API_PORT", "0",
      "DPUCOORD_WATCH", "false");

  /** Starts `dpuctl npu` in {@code dir} and waits until it is up (or has exited); returns its output so far. */
  private static String startAndStop(Path dir, Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(io.github.dpucoordinator.cli.DpuctlJvm.command());
    cmd.add("npu");
    cmd.addAll(List.of(args));
    Path output = Files.createTempFile(dir, "npu-", ".out");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(output.toFile());
    pb.environment().putAll(QUIET_PORTS);
    pb.environment().putAll(env);
    Process p = pb.start();
    try {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (p.isAlive() && !Files.readString(output).contains("NPU service up") && System.nanoTime() < until) {
        p.waitFor(50, TimeUnit.MILLISECONDS);
      }
      return Files.readString(output) + (p.isAlive() ? "" : "\n(exited " + p.exitValue() + ")");
    } finally {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theDefaultDataDirIsTakenFromTheWorkingDirectory(@TempDir Path dir) throws Exception {
    String out = startAndStop(dir, Map.of());
    assertTrue(out.contains("NPU service up"), out);
    assertTrue(out.contains("data dir " + dir.toRealPath().resolve("data")) || out.contains("data dir " + dir.resolve("data")), out);
    assertTrue(Files.isRegularFile(dir.resolve("data/journal.mv.db")), "the journal is under ./data");
  }

  @Test
  void aRelativeDataDirFromTheEnvironmentIsTakenFromTheWorkingDirectory(@TempDir Path dir) throws Exception {
    String out = startAndStop(dir, Map.of("DPUCOORD_DATA_DIR", "state/npu"));
    assertTrue(out.contains("NPU service up"), out);
    assertTrue(Files.isRegularFile(dir.resolve("state/npu/journal.mv.db")), out);
  }

  @Test
  void aMissingOrBrokenConfigurationFileIsOneLineAndExitFiveOnEveryCommand(@TempDir Path dir) throws Exception {
    Path broken = dir.resolve("broken.conf");
    Files.writeString(broken, "include classpath(\"application.conf\")\ndpu-coordinator.npu {\n  halt-timeout = [1,\n");
    for (String[] command : List.of(new String[] {"npu"}, new String[] {"dpu"}, new String[] {"status"},
        new String[] {"simulate", "--dpus", "1"})) {
      Run missing = CliRunner.process(dir, Map.of(), List.of(), List.of("-Dconfig.file=" + dir.resolve("nope.conf")), command);
      assertEquals(5, missing.exit(), command[0] + ": " + missing.err());
      assertOneLine(missing.err(), "nope.conf");
      assertTrue(missing.err().contains("does not exist"), missing.err());

      Run syntax = CliRunner.process(dir, Map.of(), List.of(), List.of("-Dconfig.file=" + broken), command);
      assertEquals(5, syntax.exit(), command[0] + ": " + syntax.err());
      assertOneLine(syntax.err(), "broken.conf: 4");
    }
  }

  @Test
  void aMisspelledKeyIsRefusedWithTheClosestKnownOne(@TempDir Path dir) throws Exception {
    Path conf = dir.resolve("npu.conf");
    Files.writeString(conf, "include classpath(\"application.conf\")\ndpu-coordinator.npu.halt-timout = 5s\n"
        + "dpu-coordinator.npu.signal.max-attempt = 2\n"
        + "dpu-coordinator.npu.dpus = [ { id = DPU0, host = \"127.0.0.1\", port = 50061, boot-wiat = 5s, tls { mode = tls, sever-name = x } } ]\n");
    Run r = CliRunner.process(dir, Map.of(), List.of(), List.of("-Dconfig.file=" + conf), "npu");
    assertEquals(5, r.exit(), r.err());
    assertOneLine(r.err(), "dpu-coordinator.npu.halt-timout (did you mean dpu-coordinator.npu.halt-timeout?)");
    assertTrue(r.err().contains("dpu-coordinator.npu.signal.max-attempt (did you mean dpu-coordinator.npu.signal.max-attempts?)"),
        r.err());
    assertTrue(r.err().contains("npu.conf:2"), "says where: " + r.err());
    assertTrue(r.err().contains("dpu-coordinator.npu.dpus[0].boot-wiat (did you mean boot-wait?)"), "inside list entries too: " + r.err());
    assertTrue(r.err().contains("dpu-coordinator.npu.dpus[0].tls.sever-name (its keys: ca, cert, key, mode, pin, server-name)"),
        "and in a DPU's own tls block: " + r.err());
  }

  @Test
  void aWronglyTypedEnvironmentVariableIsNamed(@TempDir Path dir) {
    Run r = CliRunner.process(dir, Map.of("DPUCOORD_HALT_TIMEOUT", "soon"), List.of(), List.of(), "npu");
    assertEquals(5, r.exit(), r.err());
    assertOneLine(r.err(), "environment variable DPUCOORD_HALT_TIMEOUT=soon (for dpu-coordinator.npu.halt-timeout)");
    Run agent = CliRunner.process(dir, Map.of("DPU_AGENT_PORT", "many"), List.of(), List.of(), "dpu");
    assertEquals(5, agent.exit(), agent.err());
    assertOneLine(agent.err(), "environment variable DPU_AGENT_PORT");
  }

  @Test
  void aDataDirThatCannotBeUsedSaysWhy(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("a-file"), "not a directory");
    Run isFile = CliRunner.process(dir, QUIET_PORTS, List.of(), List.of(), "npu", "--data-dir", file.toString());
    assertEquals(5, isFile.exit(), isFile.err());
    assertOneLine(isFile.err(), "the data dir " + file + " is a file, not a directory");

    Run under = CliRunner.process(dir, QUIET_PORTS, List.of(), List.of(), "npu", "--data-dir", file.resolve("data").toString());
    assertEquals(5, under.exit(), under.err());
    assertOneLine(under.err(), "cannot create the data dir " + file.resolve("data"));
    assertTrue(under.err().toLowerCase().contains("not a directory"), under.err());

    Path readOnly = Files.createDirectory(dir.resolve("read-only"));
    Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
    Run denied = CliRunner.process(dir, QUIET_PORTS, withoutOverridingPermissions(), List.of(), "npu", "--data-dir", readOnly.toString());
    assertEquals(5, denied.exit(), denied.err());
    assertOneLine(denied.err(), "the data dir " + readOnly + " is not writable: permission denied");
  }

  /** As root, drop the capabilities that ignore file permissions, so a read-only directory is read-only here too. */
  private static List<String> withoutOverridingPermissions() {
    return "root".equals(System.getProperty("user.name"))
        ? List.of("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")
        : List.of();
  }

  private static void assertOneLine(String err, String expected) {
    String text = err.strip();
    assertTrue(text.contains(expected), "expected '" + expected + "' in:\n" + err);
    assertEquals(1, text.lines().count(), "one line, no stack trace:\n" + err);
    assertFalse(text.contains("Exception"), err);
  }
}
