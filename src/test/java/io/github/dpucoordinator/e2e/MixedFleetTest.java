package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The NPU service against SONiC-like stand-ins and the project's own agents, over gNOI and the seed's protocol. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MixedFleetTest {
  private final ActorTestKit kit = ActorTestKit.create("fleet", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  /** The dry-run reboot, plus what a real NPU reboot does to the DPUs: a power cycle. */
  private record PowerCycling(List<SonicDpuStandIn> standIns, List<AgentServer.Running> agents) implements HostActions {
    @Override
    public CompletionStage<List<StepResult>> prepare(String campaignId) {
      return CompletableFuture.completedFuture(List.of());
    }

    @Override
    public CompletionStage<StepResult> reboot(String campaignId, String kind) {
      standIns.forEach(SonicDpuStandIn::powerCycle);
      agents.forEach(a -> a.agent().tell(DpuAgent.SimulatedPowerCycle.INSTANCE));
      return CompletableFuture.completedFuture(new StepResult("reboot", true, "test power cycle", 0));
    }

    @Override
    public String describeReboot() {
      return "test power cycle";
    }
  }

  private static Config config(Path dir) {
    Config c = Harness.npuConfig(dir);
    c = AppConfig.with(c, "dpu-coordinator.npu.gnoi.status-poll-interval", "100ms");
    return AppConfig.with(c, "dpu-coordinator.npu.halt-timeout", "15s");
  }

  private static DpuEndpoint standInEndpoint(String id, SonicDpuStandIn s) {
    return new DpuEndpoint(id, "127.0.0.1", s.port(), DpuEndpoint.GNOI);
  }

  private final class Npu implements AutoCloseable {
    final ActorSystem<Void> system;
    final NpuAdminClient admin;

    Npu(Config config, List<DpuEndpoint> dpus, HostActions host, String name) throws Exception {
      system = ActorSystem.create(Behaviors.empty(), name, config);
      NpuSettings settings = NpuSettings.create(config).withDpus(dpus);
      NpuService.Running running = NpuService.start(system, settings, NpuService.transport(system, settings), host)
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      admin = Harness.admin(system, running.adminPort());
    }

    String start() throws Exception {
      var r = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("fleet").build()).toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
      assertTrue(r.getAccepted(), r.getMessage());
      return r.getCampaignId();
    }

    JsonNode await(Predicate<JsonNode> ok) {
      return kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
        JsonNode s = Harness.status(admin);
        assertTrue(ok.test(s), s::toString);
        return s;
      });
    }

    /** A module shutdown of {@code dpu}, then a startup, each awaited and ended ok. */
    void moduleCycle(String dpu) throws Exception {
      for (boolean down : new boolean[] {true, false}) {
        var request = io.github.dpucoordinator.proto.admin.ModuleRequest.newBuilder().setDpuId(dpu).setReason("module cycle").build();
        var r = (down ? admin.moduleShutdown(request) : admin.moduleStartup(request)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertTrue(r.getAccepted(), r.getMessage());
        JsonNode m = await(s -> s.path("modules").get(0).path("transition").isNull()
            && s.path("modules").get(0).path("adminState").asText().equals(down ? "down" : "up")).path("modules").get(0);
        assertTrue(m.path("lastOutcome").asText().startsWith("ok"), m.toString());
      }
    }

    JsonNode awaitFinished(String id) {
      return await(s -> s.path("lastCampaign").path("id").asText().equals(id) && !s.path("lastCampaign").path("inFlight").asBoolean());
    }

    @Override
    public void close() throws Exception {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static JsonNode dpu(JsonNode status, String id) {
    for (JsonNode d : status.path("lastCampaign").path("dpus")) {
      if (d.path("id").asText().equals(id)) {
        return d;
      }
    }
    throw new AssertionError("no " + id + " in " + status);
  }

  @Test
  void aCampaignCompletesAgainstSonicStandInsAndOwnAgentsOverBothProtocols(@TempDir Path dir) throws Exception {
    SonicDpuStandIn sonic0 = SonicDpuStandIn.start(kit.system(), 300, SonicDpuStandIn.Outcome.SUCCESS);
    SonicDpuStandIn sonic1 = SonicDpuStandIn.start(kit.system(), 300, SonicDpuStandIn.Outcome.SUCCESS);
    List<AgentServer.Running> own = Harness.startAgents(kit.system(), "OWN", 2, 300);
    List<DpuEndpoint> dpus = List.of(
        standInEndpoint("SONIC0", sonic0), standInEndpoint("SONIC1", sonic1),
        new DpuEndpoint("OWN0", "127.0.0.1", own.get(0).port(), DpuEndpoint.GNOI),
        new DpuEndpoint("OWN1", "127.0.0.1", own.get(1).port(), DpuEndpoint.REBOOT_SERVICE));
    try (Npu npu = new Npu(config(dir), dpus, new PowerCycling(List.of(sonic0, sonic1), own), "npu-fleet")) {
      String id = npu.start();
      JsonNode done = npu.awaitFinished(id);
      assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toString());
      for (String d : List.of("SONIC0", "SONIC1", "OWN0", "OWN1")) {
        assertEquals("READY", dpu(done, d).path("state").asText(), d);
      }
    }
    assertEquals(1, sonic0.halts.get());
    assertEquals(1, sonic1.halts.get());
    for (AgentServer.Running a : own) {
      assertEquals(1, Harness.agentState(kit.system(), a).shutdownRuns(), a.dpuId());
    }
  }

  /** RebootStatus calls the agent {@code dpu} has served so far (its own meter). */
  private static double statusCalls(String dpu) {
    var c = io.github.dpucoordinator.common.Metrics.registry().find("dpu.agent.reboot.status.calls").tag("dpu", dpu).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void aGnoiDpusHaltDurationsAreJournaledAndItsPollsPlannedFromThemAcrossARestart(@TempDir Path dir) throws Exception {
    List<Double> calls = learnsAcrossARestart(dir, "LEARN", (npu, dpu) -> {
      assertEquals("success", npu.awaitFinished(npu.start()).path("lastCampaign").path("outcome").asText());
    }, s -> s.path("haltHistory").path("LEARN0"));
    // the baseline read, the polls planned around the expected end, and the readiness check after the power cycle
    assertTrue(calls.get(2) <= 8, "RebootStatus calls per campaign: " + calls);
  }

  /** Module shutdowns learn a gNOI DPU's HALT durations as campaigns do (from their own journal) and plan their polls from them. */
  @Test
  void moduleShutdownsOfAGnoiDpuLearnItsHaltDurationsAcrossARestart(@TempDir Path dir) throws Exception {
    List<Double> calls = learnsAcrossARestart(dir, "MOD", Npu::moduleCycle, s -> s.path("modules").get(0).path("haltHistory"));
    // planned from the history: fewer calls than the first, on the default schedule (measured 8, 4, 4; 8, 7, 7 without it)
    assertTrue(calls.get(2) <= 8 && calls.get(2) < calls.get(0), "RebootStatus calls per shutdown and startup: " + calls);
  }

  /** What halts a DPU: a campaign, or a module shutdown and startup, each awaited. */
  private interface Operation {
    void run(Npu npu, String dpu) throws Exception;
  }

  /**
   * A gNOI agent whose halt takes 400 ms, halted by {@code op} twice, the service restarted, then once more: the halts are
   * learnt (in the status at {@code history}), survive the restart, and the third is the third learnt; the RebootStatus
   * calls the agent served for each.
   */
  private List<Double> learnsAcrossARestart(Path dir, String prefix, Operation op, java.util.function.Function<JsonNode, JsonNode> history)
      throws Exception {
    List<AgentServer.Running> own = Harness.startAgents(kit.system(), prefix, 1, 400);
    String id = prefix + "0";
    Config config = AppConfig.with(config(dir), "dpu-coordinator.npu.gnoi.status-poll-interval", "1s");
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint(id, "127.0.0.1", own.get(0).port(), DpuEndpoint.GNOI));
    HostActions host = new PowerCycling(List.of(), own);
    List<Double> calls = new ArrayList<>();
    JsonNode learnt;
    try (Npu npu = new Npu(config, dpus, host, "npu-" + prefix)) {
      for (int i = 0; i < 2; i++) {
        double before = statusCalls(id);
        op.run(npu, id);
        calls.add(statusCalls(id) - before);
      }
      learnt = history.apply(npu.await(s -> history.apply(s).size() == 2));
    }
    for (JsonNode halt : learnt) {
      // halfway between the last poll that found it active and the first that found it done: within half a gap of 400 ms
      assertTrue(halt.asLong() >= 300 && halt.asLong() < 1_400, "a 400 ms halt, as the NPU estimated it: " + learnt);
    }
    try (Npu npu = new Npu(config, dpus, host, "npu-" + prefix + "-again")) {
      assertEquals(learnt, history.apply(npu.await(s -> history.apply(s).size() == 2)), "recovered from the journal");
      double before = statusCalls(id);
      op.run(npu, id);
      calls.add(statusCalls(id) - before);
      assertEquals(3, history.apply(npu.await(s -> history.apply(s).size() == 3)).size());
    }
    return calls;
  }

  @Test
  void aHaltTooQuickToBeSeenBetweenTwoPollsIsStillRecognisedByItsRebootCount(@TempDir Path dir) throws Exception {
    // 0 ms shutdown and an immediate simulated restart: by the first 1 s poll the DPU is idle again
    List<AgentServer.Running> quick = Harness.startAgents(kit.system(), "QUICK", 1, 0);
    Config config = AppConfig.with(config(dir), "dpu-coordinator.npu.gnoi.status-poll-interval", "1s");
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint("QUICK0", "127.0.0.1", quick.get(0).port(), DpuEndpoint.GNOI));
    try (Npu npu = new Npu(config, dpus, new PowerCycling(List.of(), quick), "npu-quick")) {
      long start = java.lang.System.nanoTime();
      String id = npu.start();
      JsonNode done = npu.awaitFinished(id);
      assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toString());
      assertTrue(java.lang.System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "recognised well before the 15 s halt timeout");
    }
  }

  @Test
  void afterAnNpuRestartAHaltedDpuIsPolledNotHaltedAgain(@TempDir Path dir) throws Exception {
    SonicDpuStandIn sonic = SonicDpuStandIn.start(kit.system(), 2000, SonicDpuStandIn.Outcome.SUCCESS);
    List<DpuEndpoint> dpus = List.of(standInEndpoint("SONIC", sonic));
    HostActions host = new PowerCycling(List.of(sonic), List.of());
    String id;
    try (Npu first = new Npu(config(dir), dpus, host, "npu-before")) {
      id = first.start();
      first.await(s -> dpu(s, "SONIC").path("state").asText().equals("ACKNOWLEDGED"));
    }
    try (Npu second = new Npu(config(dir), dpus, host, "npu-after")) {
      JsonNode done = second.awaitFinished(id);
      assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toString());
    }
    assertEquals(1, sonic.halts.get(), "the halted DPU was polled after the restart, not halted again");
  }

  @Test
  void failureIsRecordedRetriableFailureIsRetriedAndARebootInProgressIsPolled(@TempDir Path dir) throws Exception {
    SonicDpuStandIn failing = SonicDpuStandIn.start(kit.system(), 200, SonicDpuStandIn.Outcome.FAILURE);
    SonicDpuStandIn flaky = SonicDpuStandIn.start(kit.system(), 200, SonicDpuStandIn.Outcome.RETRIABLE_ONCE);
    SonicDpuStandIn busy = SonicDpuStandIn.start(kit.system(), 2000, SonicDpuStandIn.Outcome.SUCCESS);
    List<DpuEndpoint> dpus = List.of(standInEndpoint("FAILING", failing), standInEndpoint("FLAKY", flaky), standInEndpoint("BUSY", busy));
    try (Npu npu = new Npu(config(dir), dpus, new PowerCycling(List.of(failing, flaky, busy), List.of()), "npu-outcomes")) {
      busy.haltNow("started by someone else"); // still halting when the campaign's Reboot arrives
      String id = npu.start();
      JsonNode done = npu.awaitFinished(id);
      JsonNode f = dpu(done, "FAILING");
      assertEquals("failed", f.path("outcome").asText());
      assertTrue(f.path("reason").asText().contains("DPU reported FAILURE: pre-shutdown of dash services failed"), f.toString());
      assertEquals("ok", dpu(done, "FLAKY").path("outcome").asText(), dpu(done, "FLAKY").toString());
      assertEquals(2, flaky.halts.get(), "RETRIABLE_FAILURE was answered by a second Reboot");
      JsonNode b = dpu(done, "BUSY");
      assertEquals("ok", b.path("outcome").asText(), b.toString());
      assertTrue(b.path("ack").asText().contains("reboot in progress"), b.toString());
      assertEquals(1, busy.halts.get(), "the reboot already running was polled, not failed or started again");
      assertFalse(done.path("lastCampaign").path("outcome").asText().equals("success"));
    }
  }

  /**
   * `reboot --cancel` after a gNOI DPU has halted: the DPU is restarted with COLD (a module transition) and is
   * Listening again about a second later; the transition ends then, as ok, not at the halt timeout as failed.
   */
  @Test
  void aCancelledCampaignsHaltedGnoiDpuIsRestartedAndItsTransitionEndsWhenItIsListening(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = new ArrayList<>(Harness.startAgents(kit.system(), "C", 1, 100, java.util.Optional.empty()));
    agents.addAll(Harness.startAgents(kit.system(), "W", 1, 60_000, java.util.Optional.empty())); // keeps the campaign waiting
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint("C0", "127.0.0.1", agents.get(0).port(), DpuEndpoint.GNOI),
        new DpuEndpoint("W0", "127.0.0.1", agents.get(1).port(), DpuEndpoint.REBOOT_SERVICE));
    Config c = AppConfig.with(config(dir), "dpu-coordinator.npu.gnoi.status-poll-interval", "1s");
    c = AppConfig.with(c, "dpu-coordinator.npu.halt-timeout", "20s");
    try (Npu npu = new Npu(c, dpus, new PowerCycling(List.of(), agents), "cancel-cold")) {
      String id = npu.start();
      npu.await(s -> dpu(s, "C0").path("state").asText().equals("SHUTDOWN_COMPLETE"));
      var cancelled = npu.admin.cancelCampaign(io.github.dpucoordinator.proto.admin.CancelCampaignRequest.newBuilder()
          .setReason("changed my mind").build()).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(cancelled.getAccepted(), cancelled.getMessage());
      assertTrue(cancelled.getMessage().contains("C0: halted; restarting with a gNOI COLD reboot"), cancelled.getMessage());
      JsonNode done = kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(100), () -> {
        JsonNode s = Harness.status(npu.admin);
        JsonNode m = s.path("modules").get(0);
        assertEquals("C0", m.path("id").asText());
        assertTrue(m.path("transition").isNull() && !m.path("lastOutcome").asText().isEmpty(), s::toString);
        return m;
      });
      assertTrue(done.path("lastOutcome").asText().startsWith("ok: cold"), done.toString());
      assertEquals(io.github.dpucoordinator.agent.machine.AgentState.LISTENING, Harness.agentState(kit.system(), agents.get(0)).state());
      assertEquals(id, npu.await(s -> !s.path("lastCampaign").path("inFlight").asBoolean()).path("lastCampaign").path("id").asText());
    }
  }
}
