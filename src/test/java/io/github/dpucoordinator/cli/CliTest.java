package io.github.dpucoordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.common.Json;
import org.junit.jupiter.api.Test;

/** dpuctl as a user runs it: exit codes, stdout, and what stderr says. */
class CliTest {


  @Test
  void simulatePrintsOneJsonObjectAndExitsZeroWhenEveryDpuShutsDown() {
    CliRunner.Run r = CliRunner.dpuctl("simulate", "--dpus", "3", "--shutdown-ms", "100", "--json");
    assertEquals(0, r.exit(), r.err());
    JsonNode json = Json.read(r.out().strip());
    assertEquals(3, json.path("dpus").asInt());
    assertEquals(3, json.path("acked").asInt());
    assertEquals(0, json.path("failed").asInt());
    assertEquals("success", json.path("outcome").asText());
    assertTrue(json.path("wallMillis").asLong() >= 100, json.toString());
    assertEquals(3, json.path("perDpu").size());
  }

  @Test
  void simulateWithAnUnreachableAndASlowDpuRecordsBothAndExitsOne() {
    CliRunner.Run r = CliRunner.dpuctl("simulate", "--dpus", "3", "--unreachable", "1", "--slow", "1", "--shutdown-ms", "100",
        "--deadline-ms", "1500", "--boot-wait-ms", "500", "--json");
    assertEquals(1, r.exit(), r.err());
    JsonNode json = Json.read(r.out().strip());
    assertEquals(2, json.path("failed").asInt(), json.toString());
    assertEquals(2, json.path("acked").asInt(), "the slow DPU acknowledged but did not finish in time");
    String reasons = json.path("perDpu").toString();
    assertTrue(reasons.contains("no acknowledgment after 3 attempt(s)"), reasons);
    assertTrue(reasons.contains("shutdown not complete within the halt timeout (1500 ms)"), reasons);
  }

  @Test
  void statusAgainstNoServiceSaysWhereItLookedAndExitsFour() throws Exception {
    int port = io.github.dpucoordinator.common.Ports.freeLoopbackPort();
    CliRunner.Run r = CliRunner.dpuctl("status", "--admin", "127.0.0.1:" + port);
    assertEquals(ExitCodes.UNREACHABLE, r.exit());
    assertTrue(r.err().contains("cannot reach the NPU service's admin API at 127.0.0.1:" + port), r.err());
  }

  @Test
  void badInputIsRefusedWithAClearMessage() {
    CliRunner.Run badDpu = CliRunner.dpuctl("npu", "--dpu", "DPU0:50051");
    assertEquals(ExitCodes.USAGE, badDpu.exit(), "a usage error, found before anything starts");
    assertTrue(badDpu.err().contains("is not ID=HOST:PORT"), badDpu.err());

    CliRunner.Run badCount = CliRunner.dpuctl("simulate", "--dpus", "2", "--unreachable", "3");
    assertEquals(ExitCodes.USAGE, badCount.exit());
    assertTrue(badCount.err().contains("at most --dpus"), badCount.err());

    CliRunner.Run unknown = CliRunner.dpuctl("reboot", "--no-such-option");
    assertEquals(ExitCodes.USAGE, unknown.exit());

    CliRunner.Run badKind = CliRunner.dpuctl("reboot", "--kind", "sideways", "--admin", "127.0.0.1:1");
    assertEquals(ExitCodes.USAGE, badKind.exit(), "refused before any service is contacted");
    assertTrue(badKind.err().contains("unknown --kind 'sideways'"), badKind.err());
  }

  @Test
  void anAddressOutOfRangeIsAUsageErrorAtOnceNotATimeout() {
    for (String[] args : java.util.List.of(new String[] {"status", "--admin", "127.0.0.1:99999"},
        new String[] {"reboot", "--plan", "--admin", "localhost"}, new String[] {"dpu-hold", "clear", "--agent", "[::1]:0"})) {
      long start = System.nanoTime();
      CliRunner.Run r = CliRunner.dpuctl(args);
      assertEquals(ExitCodes.USAGE, r.exit(), String.join(" ", args) + ": " + r.err());
      assertEquals(1, r.err().strip().lines().count(), r.err());
      assertTrue(java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) < 10, "no call was attempted");
    }
    assertTrue(CliRunner.dpuctl("status", "--admin", "127.0.0.1:99999").err().contains("port 99999 is out of range 1-65535"));
  }

  @Test
  void rebootJsonWithoutPlanIsRefusedInsteadOfStartingACampaign() {
    CliRunner.Run r = CliRunner.dpuctl("reboot", "--json", "--admin", "127.0.0.1:1");
    assertEquals(ExitCodes.USAGE, r.exit(), r.err());
    assertTrue(r.err().contains("--json goes with --plan only"), r.err());
  }

  @Test
  void agentOptionsThatCannotWorkAreUsageErrorsBeforeAnythingStarts() {
    for (String[] args : java.util.List.of(new String[] {"dpu", "--shutdown-ms", "-500"}, new String[] {"dpu", "--restart-ms", "-5"},
        new String[] {"dpu", "--shutdown-cmd-timeout", "0"}, new String[] {"dpu", "--id", ""}, new String[] {"dpu", "--port", "99999"},
        new String[] {"npu", "--admin-port", "70000"})) {
      CliRunner.Run r = CliRunner.dpuctl(args);
      assertEquals(ExitCodes.USAGE, r.exit(), String.join(" ", args) + ": " + r.err());
      assertFalse(r.out().contains("listening") || r.err().contains("agent started"), "nothing started: " + r.out() + r.err());
    }
  }

  @Test
  void everyCommandsHelpEndsWithTheExitCodes() {
    java.util.Deque<picocli.CommandLine> todo = new java.util.ArrayDeque<>(java.util.List.of(new picocli.CommandLine(new Main())));
    int checked = 0;
    while (!todo.isEmpty()) {
      picocli.CommandLine c = todo.pop();
      todo.addAll(c.getSubcommands().values());
      if (c.getCommandName().equals("help")) {
        continue;
      }
      assertTrue(c.getUsageMessage().contains("Exit codes: 0 ok"), c.getCommandName() + " --help lacks the exit codes");
      checked++;
    }
    assertTrue(checked >= 15, "all commands and subcommands: " + checked);
  }
}
