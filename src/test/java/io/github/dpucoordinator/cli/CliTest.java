package io.github.dpucoordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
    assertEquals(ExitCodes.STARTUP_FAILED, badDpu.exit());
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
}
