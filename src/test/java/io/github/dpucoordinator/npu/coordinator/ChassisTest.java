package io.github.dpucoordinator.npu.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.npu.module.ModuleEvent;
import io.github.dpucoordinator.npu.module.Transition;
import io.github.dpucoordinator.npu.notice.NoticeEvent;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.ProbeTransport;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The chassis and its three entities, each with its own persistence id: what a journal written before the split left
 * in the coordinator's journal is handed to the entities once and goes on there, and a cancelled campaign's restart of
 * a halted DPU is started exactly once, across restarts of the service.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChassisTest {
  private final ActorTestKit kit = CoordinatorFixture.testKit();
  private final ManualTime manualTime = ManualTime.get(kit.system());
  private final AtomicInteger ids = new AtomicInteger();

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private CoordinatorFixture fixture(int dpus) {
    return new CoordinatorFixture(kit, manualTime, "chassis-test-" + ids.incrementAndGet(), dpus, false, Map.of(),
        CoordinatorFixture.negotiation());
  }

  @Test
  void aTransitionAndANoticeInTheCoordinatorsJournalAreHandedToTheirEntitiesOnceAndGoOnThere() {
    CoordinatorFixture f = fixture(2);
    f.state(); // recovered empty
    long t0 = f.clock.millis();
    DpuEndpoint dpu0 = f.settings.dpus().get(0);
    // what the coordinator journaled before module transitions and notices had entities of their own
    f.journal.persistForRecovery(f.pid, List.of(
        new ModuleEvent.ModuleTransitionStarted("m-old", dpu0, ModuleKind.SHUTDOWN, "replace a fan", t0),
        new ModuleEvent.ModuleHaltAcknowledged("m-old", "DPU0", "halting", t0, -1L),
        new NoticeEvent.DpuRebootNoticed("n-old", "DPU1", "firmware", t0, t0 + 600_000, 1, t0)));
    f.restart();

    assertEquals(Map.of("DPU0", "m-old"), Map.of("DPU0", f.expect(ModuleEvent.LegacyAdopted.class).modules().get("DPU0").transition().id()));
    assertEquals("n-old", f.expect(NoticeEvent.LegacyAdopted.class).notices().get("DPU1").id());
    f.expect(CampaignEvent.LegacyHandedOver.class);
    CoordinatorFixture.State s = f.state();
    assertFalse(s.campaigns().hasLegacy(), "the coordinator keeps none of it");
    assertEquals(Transition.Step.HALTING, s.modules().modules().get("DPU0").transition().phase());
    assertEquals("n-old", s.notices().get("DPU1").id());

    // the module entity goes on with the transition: the HALT was acknowledged, so the DPU is only watched
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown("m-old"));
    assertTrue(f.expect(ModuleEvent.ModuleHalted.class).ok());
    f.expect(ModuleEvent.ModulePowerIssued.class);
    assertEquals("ok", f.expect(ModuleEvent.ModuleTransitionFinished.class).outcome());
    assertEquals(List.of("DPU0"), f.host.powerOffs);
    assertTrue(f.state().down("DPU0"));

    // the adopted notice stands in the way of a campaign, as it did in the coordinator
    NpuProtocol.StartReply refused = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.StartCampaign("x", CampaignKind.COLD, r));
    assertFalse(refused.accepted());
    assertTrue(refused.message().contains("DPU1 (notice n-old"), refused.message());

    f.restart(); // nothing is handed over twice
    f.expectNothingNew();
    assertEquals("n-old", f.state().notices().get("DPU1").id());
  }

  @Test
  void theRestartOfAHaltedGnoiDpuAfterACancelIsStartedOnceAcrossARestartOfTheService() {
    CoordinatorFixture f = fixture(2);
    String id = f.start();
    Map<String, ProbeTransport.SignalCall> signals = f.transport.signals(2);
    signals.get("DPU0").reply().complete(ProbeTransport.started(id));
    signals.get("DPU1").reply().complete(ProbeTransport.started(id));
    f.transport.observes(2).get("DPU0").reply().complete(ProbeTransport.shutDown(id)); // DPU0 halted, DPU1 still shutting down
    f.expectPreamble();
    f.expectAnyOrder(3); // two acknowledgments and DPU0's completion
    // a new campaign asked for right behind the cancel must see the restart of the halted DPU, not run with it
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<NpuProtocol.StartReply> cancel = kit.createTestProbe();
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<NpuProtocol.StartReply> again = kit.createTestProbe();
    f.chassis.tell(new NpuProtocol.CancelCampaign("plans changed", cancel.ref()));
    f.chassis.tell(new NpuProtocol.StartCampaign("again", CampaignKind.COLD, again.ref()));
    NpuProtocol.StartReply cancelled = cancel.receiveMessage();
    assertTrue(cancelled.accepted(), cancelled.message());
    NpuProtocol.StartReply refused = again.receiveMessage();
    assertFalse(refused.accepted(), refused.message());
    assertTrue(refused.message().contains("DPUs in a module transition: DPU0"), refused.message());
    String restart = f.expect(CampaignEvent.CampaignCancelled.class).restarts().get("DPU0");
    assertEquals(restart, f.expect(ModuleEvent.ModuleTransitionStarted.class).campaignId());
    assertEquals(restart, f.state().modules().modules().get("DPU0").transition().id());

    f.restart(); // the campaign entity asks again after its recovery: the module entity has it already
    f.expectNothingNew();
    assertEquals(restart, f.state().modules().modules().get("DPU0").transition().id());

    // the restart ends after the NPU's clock was set back an hour: asked again after the next restart of the service,
    // the module entity still knows it by its id, not by when things happened
    f.clock.advance(java.time.Duration.ofHours(-1));
    f.transport.clearCalls();
    f.restart();
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(restart));
    f.expect(ModuleEvent.ModuleHaltAcknowledged.class);
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown(restart));
    assertEquals("ok", f.expect(ModuleEvent.ModuleTransitionFinished.class).outcome());
    f.restart();
    f.expectNothingNew();
    assertEquals(restart, f.state().modules().lastTransitionId("DPU0"));
  }

  @Test
  void aDpusPostponementStaysBehindItsNoticeWhileAnotherRequestIsBeingAdmitted() {
    CoordinatorFixture f = fixture(2);
    f.state();
    TestProbe<NpuProtocol.StartReply> startup = kit.createTestProbe();
    TestProbe<NpuProtocol.NoticeReply> notice = kit.createTestProbe();
    TestProbe<NpuProtocol.GoingReply> postponed = kit.createTestProbe();
    f.chassis.tell(new NpuProtocol.ModuleCommand("DPU0", ModuleKind.STARTUP, "check", startup.ref())); // DPU0 is up: asked first
    ProbeTransport.ObserveCall asked = f.transport.observes(1).get("DPU0"); // the startup's admission waits for the answer
    long now = f.clock.millis();
    f.chassis.tell(new NpuProtocol.NoticeReceived("DPU1", "n1", "firmware", now, now + 600_000, 1, notice.ref()));
    f.chassis.tell(new NpuProtocol.PostponedOnDpu("DPU1", "n1", now + 60_000, "operator", "not now", postponed.ref()));
    asked.reply().complete(ProbeTransport.listening());
    assertTrue(startup.receiveMessage().message().contains("already up"));
    NpuProtocol.GoingReply recorded = postponed.receiveMessage();
    assertTrue(recorded.ok(), recorded.message());
    assertEquals("n1", f.expect(NoticeEvent.DpuRebootNoticed.class).campaignId());
    f.expect(NoticeEvent.DpuRebootAnswered.class); // no hooks: acknowledged at once
    assertEquals(now + 60_000, f.expect(NoticeEvent.DpuRebootPostponedOnDpu.class).untilMillis());
  }

  @Test
  void aMessageOfAPhaseThatHasEndedFindsNoHandlerInTheNextPhaseAndChangesNothing() {
    CoordinatorFixture f = fixture(1);
    String id = f.start();
    f.transport.signals(1); // left unanswered: the campaign waits for its acknowledgments
    f.expectPreamble();
    assertEquals(Phase.WAIT_FOR_ACKNOWLEDGMENTS, f.state().phase());
    f.toCampaigns(new Coordinator.PrepareFinished(id, List.of())); // PrepareForReboot's result, late
    f.toCampaigns(new NpuReboot.BootDeadline(id, "DPU0")); // PostReboot's timer, early
    f.expectNothingNew();
    assertEquals(Phase.WAIT_FOR_ACKNOWLEDGMENTS, f.state().phase());
  }
}
