package io.github.dpucoordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** `dpuctl simulate --offload --json`: every container started, one crash restarted, one upgrade, one rollback, all healthy. */
class OffloadSimulationTest {
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void theOffloadSimulationShowsEachRuleOnce() throws Exception {
    long before = ProcessHandle.allProcesses().count();
    CliRunner.Run r = CliRunner.dpuctl("simulate", "--offload", "--json");
    assertEquals(0, r.exit(), r.err());
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertEquals(2, j.get("dpus").asInt());
    assertEquals(4, j.get("containers").asInt());
    assertEquals(4, j.get("started").asInt());
    assertEquals(1, j.get("restarted").asInt(), j.toString());
    assertEquals(1, j.get("upgraded").asInt(), j.toString());
    assertEquals(1, j.get("rolledBack").asInt(), j.toString());
    assertEquals(4, j.get("healthy").asInt(), j.toString());
    assertTrue(r.err().contains("crash: DPU0's database killed (SIGKILL"), r.err());
    JsonNode gnmi = j.get("perContainer").get(1);
    assertEquals("offload/gnmi:1.0 2.0", gnmi.get("image").asText() + " " + gnmi.get("failedVersions").asText());
    // its containers and their processes are gone with it
    assertTrue(ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.contains("dpuctl-offload-sim-")).orElse(false)).findAny()
        .isEmpty(), "no container process of the simulation is left (" + before + " processes before)");
  }
}
