package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Real agents, a real NPU service with its H2 journal, all over loopback gRPC. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcEndToEndTest {
  private final ActorTestKit agentsKit = ActorTestKit.create("agents", io.github.dpucoordinator.common.AppConfig.load());
  private final ActorSystem<Void> agents = agentsKit.system();

  @AfterAll
  void shutdown() {
    agentsKit.shutdownTestKit();
  }

  private static StartCampaignResponse start(NpuAdminClient admin, String reason) throws Exception {
    return admin.startCampaign(StartCampaignRequest.newBuilder().setReason(reason).build()).toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  private JsonNode awaitFinished(NpuAdminClient admin, String campaignId, Duration max) {
    return agentsKit.createTestProbe().awaitAssert(max, Duration.ofMillis(100), () -> {
      JsonNode s = Harness.status(admin);
      assertEquals(campaignId, s.path("lastCampaign").path("id").asText());
      assertFalse(s.path("lastCampaign").path("inFlight").asBoolean(), "still in flight");
      return s;
    });
  }

  @Test
  void aCampaignOverLoopbackShutsEveryAgentDownOnceAndSucceeds(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> dpus = Harness.startAgents(agents, "E", 3, 300);
    Config config = Harness.npuConfig(dir);
    ActorSystem<Void> npuSystem = ActorSystem.create(Behaviors.empty(), "npu-e2e", config);
    try {
      NpuService.Running npu = NpuService.start(npuSystem, NpuSettings.create(config).withDpus(Harness.endpoints(dpus)))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      NpuAdminClient admin = Harness.admin(npuSystem, npu.adminPort());
      StartCampaignResponse started = start(admin, "e2e");
      assertTrue(started.getAccepted(), started.getMessage());

      StartCampaignResponse refused = start(admin, "again");
      assertFalse(refused.getAccepted());
      assertEquals(started.getCampaignId(), refused.getCampaignId());
      // a kind that does not exist is refused where the request comes in, naming it
      StartCampaignResponse badKind = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("x").setKind("sideways").build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertFalse(badKind.getAccepted());
      assertEquals("unknown reboot kind 'sideways'; expected one of cold, warm, power-off", badKind.getMessage());

      JsonNode status = awaitFinished(admin, started.getCampaignId(), Duration.ofSeconds(20));
      assertEquals("Idle", status.path("phase").asText());
      assertEquals("success", status.path("lastCampaign").path("outcome").asText());
      JsonNode dpuViews = status.path("lastCampaign").path("dpus");
      assertEquals(3, dpuViews.size());
      for (JsonNode d : dpuViews) {
        assertEquals("READY", d.path("state").asText(), d.toString());
        assertEquals("ok", d.path("outcome").asText());
      }
      assertEquals(1, status.path("history").path("E0").size());
      // the DPU-facing API serves gNOI Containerz too: its image store, empty
      var containerz = io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient.create(org.apache.pekko.grpc.GrpcClientSettings
          .connectToServiceAt("127.0.0.1", npu.dpuApi().localAddress().getPort(), npuSystem).withTls(false), npuSystem);
      assertEquals(List.of(), containerz.listImage(io.github.dpucoordinator.proto.gnoi.containerz.ListImageRequest.getDefaultInstance())
          .runWith(org.apache.pekko.stream.javadsl.Sink.seq(), npuSystem).toCompletableFuture().get(10, TimeUnit.SECONDS));
      for (AgentServer.Running a : dpus) {
        assertEquals(1, Harness.agentState(agents, a).shutdownRuns(), a.dpuId());
      }
    } finally {
      npuSystem.terminate();
      npuSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void withAnIdleTimeoutTheConnectionsCloseBetweenCampaignsAndTheNextCampaignOpensThem(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> dpus = Harness.startAgents(agents, "I", 2, 100);
    Config config = io.github.dpucoordinator.common.AppConfig.with(Harness.npuConfig(dir),
        io.github.dpucoordinator.npu.transport.ChannelIdle.KEY, "1s"); // the watch is off in these tests
    ActorSystem<Void> npuSystem = ActorSystem.create(Behaviors.empty(), "npu-idle", config);
    try {
      NpuService.Running npu = NpuService.start(npuSystem, NpuSettings.create(config).withDpus(Harness.endpoints(dpus)))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      NpuAdminClient admin = Harness.admin(npuSystem, npu.adminPort());
      for (int round = 1; round <= 2; round++) {
        StartCampaignResponse started = start(admin, "idle " + round);
        assertTrue(started.getAccepted(), started.getMessage());
        assertEquals("success", awaitFinished(admin, started.getCampaignId(), Duration.ofSeconds(20)).path("lastCampaign")
            .path("outcome").asText());
        // a second after its last call, no connection to either DPU is left open (without the timeout they stay)
        agentsKit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(200), () -> {
          for (AgentServer.Running a : dpus) {
            assertEquals(0, io.github.dpucoordinator.common.Ports.establishedTo(a.port()), "connections to " + a.dpuId());
          }
          return null;
        });
      }
      for (AgentServer.Running a : dpus) {
        assertEquals(2, Harness.agentState(agents, a).shutdownRuns(), a.dpuId());
      }
    } finally {
      npuSystem.terminate();
      npuSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aNewActorSystemOnTheSameJournalResumesTheCampaignWithoutRerunningShutdowns(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> dpus = Harness.startAgents(agents, "R", 2, 2000);
    Config config = Harness.npuConfig(dir);
    NpuSettings settings = NpuSettings.create(config).withDpus(Harness.endpoints(dpus));
    String campaignId;

    ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "npu-first", config);
    try {
      NpuService.Running npu = NpuService.start(first, settings).toCompletableFuture().get(30, TimeUnit.SECONDS);
      NpuAdminClient admin = Harness.admin(first, npu.adminPort());
      campaignId = start(admin, "before restart").getCampaignId();
      agentsKit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
        for (JsonNode d : Harness.status(admin).path("lastCampaign").path("dpus")) {
          assertEquals("ACKNOWLEDGED", d.path("state").asText());
        }
        return null;
      });
    } finally {
      first.terminate();
      first.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    ActorSystem<Void> second = ActorSystem.create(Behaviors.empty(), "npu-second", config);
    try {
      NpuService.Running npu = NpuService.start(second, settings).toCompletableFuture().get(30, TimeUnit.SECONDS);
      NpuAdminClient admin = Harness.admin(second, npu.adminPort());
      JsonNode status = awaitFinished(admin, campaignId, Duration.ofSeconds(20));
      assertEquals("success", status.path("lastCampaign").path("outcome").asText(), status.toString());
      for (AgentServer.Running a : dpus) {
        assertEquals(1, Harness.agentState(agents, a).shutdownRuns(), a.dpuId() + " ran its shutdown once");
      }
    } finally {
      second.terminate();
      second.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * An agent with no tenant-cleanup steps has finished a warm signal by the time it answers it: the NPU must
   * see that at once, not after a long poll that waits for a change that already happened (state-wait 40 s here).
   */
  @Test
  void aWarmSignalThatIsOverWhenAnsweredIsSeenCompleteWithoutWaitingOutTheLongPoll(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> dpus = Harness.startAgents(agents, "W", 2, 0);
    Config config = Harness.npuConfig(dir);
    config = io.github.dpucoordinator.common.AppConfig.with(config, "dpu-coordinator.npu.state-wait", "40s");
    config = io.github.dpucoordinator.common.AppConfig.with(config, "dpu-coordinator.npu.ack-deadline", "120s");
    config = io.github.dpucoordinator.common.AppConfig.with(config, "dpu-coordinator.npu.halt-timeout", "60s");
    List<io.github.dpucoordinator.npu.transport.DpuEndpoint> seed = Harness.endpoints(dpus).stream()
        .map(d -> d.withProtocol(io.github.dpucoordinator.npu.transport.DpuEndpoint.REBOOT_SERVICE)).toList();
    ActorSystem<Void> npuSystem = ActorSystem.create(Behaviors.empty(), "npu-warm", config);
    try {
      NpuService.Running npu = NpuService.start(npuSystem, NpuSettings.create(config).withDpus(seed)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      NpuAdminClient admin = Harness.admin(npuSystem, npu.adminPort());
      StartCampaignResponse started = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("warm").setKind("warm").build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(started.getAccepted(), started.getMessage());
      JsonNode status = awaitFinished(admin, started.getCampaignId(), Duration.ofSeconds(20));
      assertEquals("success", status.path("lastCampaign").path("outcome").asText(), status.toString());
    } finally {
      npuSystem.terminate();
      npuSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
