package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NPU's data dir on a small filesystem of its own (a 16 MiB tmpfs the test mounts) that fills up in the middle of a
 * campaign: the journal's writes fail, which the log and `status` say; the service keeps running and keeps the
 * campaign, and once space is back the campaign goes on to its end.
 */
@Tag("needs-root")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JournalDiskFullTest {
  private final ActorTestKit kit = ActorTestKit.create("disk-full", io.github.dpucoordinator.common.AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void aFullDiskUnderTheJournalCostsADelayNotTheCampaign(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "F", 3, 2500, Optional.empty());
    List<DpuEndpoint> dpus = agents.stream().map(a -> new DpuEndpoint(a.dpuId(), "127.0.0.1", a.port(), DpuEndpoint.REBOOT_SERVICE)).toList();
    Path output = dir.resolve("npu.out");
    int adminPort = Harness.freePort();
    TestProbe<Object> probe = kit.createTestProbe();
    SmallDisk small = SmallDisk.mount(dir, "dpuc-journal-full-test");
    Process npu = null;
    try {
      npu = NpuProcess.start(small.root.resolve("data"), adminPort, dpus, NpuProcess.recordingRebootCommand(dir.resolve("reboots.log")),
          output, List.of(), Map.of("DPUCOORD_BOOT_WAIT", "30s", "DPUCOORD_HALT_TIMEOUT", "60s", "DPUCOORD_ACK_DEADLINE", "90s"));
      NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
      await(probe, admin, output, s -> s.path("phase").asText().equals("Idle"));
      StartCampaignResponse started = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("disk full").build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(started.getAccepted(), started.getMessage());
      await(probe, admin, output, s -> s.path("phase").asText().equals("WaitForAcknowledgments"));
      small.fill(); // while the DPUs shut down: their completions cannot be journaled

      JsonNode failing = await(probe, admin, output, s -> s.path("journalFailures").size() > 0);
      assertEquals("npu-coordinator", failing.path("journalFailures").get(0).path("entity").asText(), failing.toString());
      assertTrue(Harness.read(output).contains("JOURNAL WRITE FAILED for npu-coordinator"), Harness.read(output));
      assertTrue(npu.isAlive(), "the service keeps running with a full disk");

      small.free(); // space is back
      await(probe, admin, output, s -> s.path("phase").asText().equals("PostReboot"));
      agents.forEach(a -> a.agent().tell(io.github.dpucoordinator.agent.machine.DpuAgent.SimulatedPowerCycle.INSTANCE));
      JsonNode done = await(probe, admin, output, s -> s.path("lastCampaign").path("id").asText().equals(started.getCampaignId())
          && !s.path("lastCampaign").path("inFlight").asBoolean());
      assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toPrettyString());
      assertEquals(0, done.path("journalFailures").size(), done.path("journalFailures").toString());
      for (AgentServer.Running a : agents) {
        assertEquals(1, Harness.agentState(kit.system(), a).shutdownRuns(), a.dpuId() + " shut down once");
      }
      assertTrue(Harness.read(output).contains("journal writes of npu-coordinator succeed again"), Harness.read(output));
    } finally {
      if (npu != null) {
        npu.destroyForcibly();
        npu.waitFor(10, TimeUnit.SECONDS); // before the unmount: it holds files there
      }
      small.close();
    }
  }

  private JsonNode await(TestProbe<?> probe, NpuAdminClient admin, Path output, java.util.function.Predicate<JsonNode> ok) {
    return Harness.awaitStatus(probe, admin, Duration.ofSeconds(90), ok, () -> Harness.read(output));
  }
}
