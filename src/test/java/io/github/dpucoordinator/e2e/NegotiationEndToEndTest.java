package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlClient;
import io.github.dpucoordinator.proto.agentctl.RebootNoticeStatus;
import io.github.dpucoordinator.proto.agentctl.RequestRebootRequest;
import io.github.dpucoordinator.proto.agentctl.SetHoldRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real agents and a real NPU service on loopback negotiating: a DPU-initiated reboot postponed by a hook
 * until the workloads are migrated, then recorded as planned (and a later reboot nobody planned recorded
 * as unplanned); a campaign with one DPU deferring and one in a protective state.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NegotiationEndToEndTest {
  private final ActorTestKit kit = ActorTestKit.create("negotiation-e2e", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private JsonNode await(NpuAdminClient admin, Duration max, Predicate<JsonNode> ok) {
    return kit.createTestProbe().awaitAssert(max, Duration.ofMillis(100), () -> {
      JsonNode s = Harness.status(admin);
      assertTrue(ok.test(s), () -> "not yet: " + s);
      return s;
    });
  }

  @Test
  void aDpuRebootIsPostponedUntilTheHookIsSatisfiedThenRecordedAsPlannedAndAnUnplannedRestartApart(@TempDir Path dir) throws Exception {
    Path migrated = dir.resolve("migrated");
    Config config = Harness.npuConfig(dir.resolve("data"))
        .withValue("dpu-coordinator.npu.dpu-reboot.hooks", ConfigFactory.parseString("h = [{ name = migrate-workloads, command = \"test -f '"
            + migrated + "' || { echo 'VMs still on the DPU'; exit 75; }\", timeout = 5s }]").getValue("h"));
    config = AppConfig.with(config, "dpu-coordinator.npu.dpu-reboot.postpone-for", "1s");
    config = AppConfig.with(config, "dpu-coordinator.npu.watch.enabled", true);
    config = AppConfig.with(config, "dpu-coordinator.npu.watch.interval", "300ms");
    int dpuApiPort = Harness.freePort();
    config = AppConfig.with(config, "dpu-coordinator.npu.dpu-api.port", dpuApiPort);
    AgentSettings base = AgentSettings.create(AppConfig.load()).withId("N0").withPort(0)
        .withSteps(List.of(StepSpec.simulated("work", Duration.ofMillis(100)))).withRestartAfter(Optional.empty())
        .withSimulatedRebootTime(Duration.ofMillis(300));
    AgentServer.Running agent = AgentServer.start(kit.system(), base.withNotice(base.notice().withNpuAddress("127.0.0.1:" + dpuApiPort)))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    ActorSystem<Void> npuSystem = ActorSystem.create(Behaviors.empty(), "npu-negotiation", config);
    try {
      NpuService.Running npu = NpuService.start(npuSystem, NpuSettings.create(config).withDpus(List.of(
          new DpuEndpoint("N0", "127.0.0.1", agent.port(), DpuEndpoint.REBOOT_SERVICE)))).toCompletableFuture().get(30, TimeUnit.SECONDS);
      NpuAdminClient admin = Harness.admin(npuSystem, npu.adminPort());
      DpuAgentControlClient control = NpuNoticeStub.control(kit.system(), agent);

      RebootNoticeStatus notice = control.requestReboot(RequestRebootRequest.newBuilder().setReason("kernel upgrade")
          .setDeadlineMs(120_000).build()).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(notice.getAccepted(), notice.getMessage());
      JsonNode postponed = await(admin, Duration.ofSeconds(20), s -> s.path("dpuReboots").size() == 1
          && s.path("dpuReboots").get(0).path("decision").asText().equals("POSTPONE"));
      assertTrue(postponed.path("dpuReboots").get(0).path("answer").asText().contains("VMs still on the DPU"));
      assertEquals(0, Harness.agentState(kit.system(), agent).shutdownRuns(), "the DPU waits while postponed");

      Files.writeString(migrated, "done");
      final AgentServer.Running running = agent;
      JsonNode done = await(admin, Duration.ofSeconds(30), s -> s.path("dpuReboots").size() == 0 && s.path("history").path("N0").size() > 0);
      JsonNode entry = done.path("history").path("N0").get(0);
      assertEquals("planned dpu-reboot (DPU-initiated)", entry.path("cause").asText(), entry.toString());
      assertEquals("ok", entry.path("outcome").asText(), entry.toString());
      assertEquals("kernel upgrade", entry.path("reason").asText());
      assertEquals(1, Harness.agentState(kit.system(), running).shutdownRuns(), "the DPU rebooted once, after the ACK");

      // a restart nobody planned is recorded apart (once the watcher has seen the DPU back from the planned one)
      long finishedAt = entry.path("atMillis").asLong();
      await(admin, Duration.ofSeconds(10), s -> s.path("nowMillis").asLong() > finishedAt + 3_000);
      agent.agent().tell(DpuAgent.SimulatedPowerCycle.INSTANCE);
      JsonNode unplanned = await(admin, Duration.ofSeconds(20), s -> s.path("history").path("N0").size() == 2);
      assertEquals("unplanned: restarted on its own", unplanned.path("history").path("N0").get(1).path("cause").asText());
    } finally {
      npuSystem.terminate();
    }
  }

  @Test
  void aCampaignHonoursADeferralUpToItsCapAndHoldsForAProtectiveStateThenProceeds(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "H", 2, 100, Optional.of(Duration.ofMillis(200)));
    DpuAgentControlClient deferring = NpuNoticeStub.control(kit.system(), agents.get(0));
    DpuAgentControlClient updating = NpuNoticeStub.control(kit.system(), agents.get(1));
    assertTrue(deferring.setHold(SetHoldRequest.newBuilder().setHold("defer").setReason("tenant backup").setDurationMs(600_000).build())
        .toCompletableFuture().get(10, TimeUnit.SECONDS).getAccepted());
    assertTrue(updating.setHold(SetHoldRequest.newBuilder().setHold("firmware-update").setReason("bios 2.1").build())
        .toCompletableFuture().get(10, TimeUnit.SECONDS).getAccepted());
    Config config = Harness.npuConfig(dir);
    config = AppConfig.with(config, "dpu-coordinator.npu.ack-deadline", "6s");
    config = AppConfig.with(config, "dpu-coordinator.npu.halt-timeout", "2s");
    config = AppConfig.with(config, "dpu-coordinator.npu.signal.rpc-timeout", "1s");
    config = AppConfig.with(config, "dpu-coordinator.npu.defer.max-total", "1s");
    config = AppConfig.with(config, "dpu-coordinator.npu.protective.max-wait", "2s");
    ActorSystem<Void> npuSystem = ActorSystem.create(Behaviors.empty(), "npu-holds", config);
    try {
      NpuService.Running npu = NpuService.start(npuSystem, NpuSettings.create(config).withDpus(agents.stream()
          .map(a -> new DpuEndpoint(a.dpuId(), "127.0.0.1", a.port(), DpuEndpoint.REBOOT_SERVICE)).toList()))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      NpuAdminClient admin = Harness.admin(npuSystem, npu.adminPort());
      StartCampaignResponse started = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("holds").build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(started.getAccepted(), started.getMessage());
      JsonNode held = await(admin, Duration.ofSeconds(10), s -> s.path("lastCampaign").path("dpus").get(1).path("state").asText()
          .equals("PROTECTIVE"));
      assertTrue(held.path("lastCampaign").path("dpus").get(1).path("protective").asText().startsWith("firmware-update"));

      JsonNode done = await(admin, Duration.ofSeconds(30), s -> !s.path("lastCampaign").path("inFlight").asBoolean());
      JsonNode h0 = done.path("lastCampaign").path("dpus").get(0);
      JsonNode h1 = done.path("lastCampaign").path("dpus").get(1);
      assertEquals("ok", h0.path("outcome").asText(), "deferred up to the 1 s cap, then signalled with force: " + h0);
      assertEquals("failed", h1.path("outcome").asText(), h1.toString());
      assertTrue(h1.path("reason").asText().contains("still in protective state firmware-update"), h1.toString());
      assertFalse(h1.path("reason").asText().contains("escalated"), "a protective DPU is never forced: " + h1);
      assertTrue(done.path("lastCampaign").path("reboot").asText().contains("ok"), "policy proceed: the NPU rebooted anyway");
      assertTrue(Harness.agentState(kit.system(), agents.get(1)).steps().stream().noneMatch(r -> r.name().equals("work")),
          "the updating DPU's shutdown steps never ran");
    } finally {
      npuSystem.terminate();
    }
  }
}
