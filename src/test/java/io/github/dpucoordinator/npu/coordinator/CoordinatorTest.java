package io.github.dpucoordinator.npu.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.chassis.Chassis;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.AcknowledgmentsCollected;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.AcknowledgmentsMissing;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.CampaignFinished;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.CampaignStarted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuAcknowledged;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuGaveUp;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuReady;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuShutdownCompleted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.PreRebootTasksDone;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootActionRerun;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootActionReturned;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootIssued;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootReturned;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalAttemptFailed;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalsDispatched;
import io.github.dpucoordinator.npu.dpu.LinkMemory;
import io.github.dpucoordinator.npu.dpu.LinkReport;
import io.github.dpucoordinator.npu.journal.HistoryEntry;
import io.github.dpucoordinator.npu.module.ModuleEvent;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.npu.settings.NegotiationSettings;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import io.github.dpucoordinator.npu.transport.ProbeTransport;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CoordinatorTest {
  private static final Duration ACK_DEADLINE = CoordinatorFixture.ACK_DEADLINE;

  private final ActorTestKit kit = CoordinatorFixture.testKit();
  private final ManualTime manualTime = ManualTime.get(kit.system());
  private final AtomicInteger ids = new AtomicInteger();

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  /** A {@link CoordinatorFixture} on this class's test kit. */
  final class Fixture extends CoordinatorFixture {
    Fixture(int dpus, boolean rebootHangs) {
      this(dpus, rebootHangs, Map.of());
    }

    Fixture(int dpus, boolean rebootHangs, Map<String, NpuSettings.DpuPolicy> policies) {
      this(dpus, rebootHangs, policies, CoordinatorFixture.negotiation());
    }

    Fixture(int dpus, boolean rebootHangs, Map<String, NpuSettings.DpuPolicy> policies, NegotiationSettings negotiation) {
      this(dpus, rebootHangs, policies, negotiation, CoordinatorFixture.REBOOT);
    }

    Fixture(int dpus, boolean rebootHangs, Map<String, NpuSettings.DpuPolicy> policies, NegotiationSettings negotiation,
        NpuSettings.Reboot reboot) {
      this(dpus, rebootHangs, policies, negotiation, reboot, 1000);
    }

    Fixture(int dpus, boolean rebootHangs, Map<String, NpuSettings.DpuPolicy> policies, NegotiationSettings negotiation,
        NpuSettings.Reboot reboot, int snapshotEvery) {
      super(CoordinatorTest.this.kit, CoordinatorTest.this.manualTime, "coordinator-test-" + ids.incrementAndGet(), dpus, rebootHangs, policies, negotiation,
          reboot, snapshotEvery);
    }
  }

  private static StatusRuntimeException unavailable() {
    return Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException();
  }

  private static Map<Class<?>, Long> classes(List<Object> events) {
    return events.stream().collect(Collectors.groupingBy(Object::getClass, Collectors.counting()));
  }

  @Test
  void allDpusAcknowledgeAndCompleteThenTheRebootRunsOnceAndTheCampaignSucceeds() {
    Fixture f = new Fixture(2, false);
    String id = f.start();

    Map<String, ProbeTransport.SignalCall> signals = f.transport.signals(2);
    signals.values().forEach(c -> {
      assertEquals(id, c.request().campaignId());
      c.reply().complete(ProbeTransport.started(id));
    });
    Map<String, ProbeTransport.ObserveCall> polls = f.transport.observes(2);
    polls.values().forEach(c -> {
      assertEquals(3, c.knownVersion(), "long poll starts from the version the signal reply carried");
      c.reply().complete(ProbeTransport.shutDown(id));
    });
    // the links keep watching; after the (dry-run) reboot their open long polls tell that the DPUs are Listening
    f.transport.observes(2).values().forEach(c -> {
      assertEquals(5, c.knownVersion());
      c.reply().complete(ProbeTransport.listening());
    });

    f.expectPreamble();
    assertEquals(Map.of(DpuAcknowledged.class, 2L), classes(f.expectAnyOrder(2)));
    assertEquals(Map.of(DpuShutdownCompleted.class, 2L), classes(f.expectAnyOrder(2)));
    f.expect(AcknowledgmentsCollected.class);
    f.expect(RebootIssued.class);
    f.expect(RebootActionReturned.class);
    f.expect(RebootReturned.class);
    assertEquals(Map.of(DpuReady.class, 2L), classes(f.expectAnyOrder(2)));
    assertEquals("success", f.expect(CampaignFinished.class).outcome());

    assertEquals(1, f.host.reboots.get());
    CoordinatorFixture.State s = f.state();
    assertEquals(Phase.IDLE, s.phase());
    assertEquals(id, s.last().id());
    assertEquals("ok", s.history().get("DPU0").get(0).outcome());
    assertEquals("ok", s.history().get("DPU1").get(0).outcome());
  }

  @Test
  void retriesAnUnreachableDpuWithBackoffThenGivesUpAndProceedsWithTheReboot() {
    Fixture f = new Fixture(2, false);
    String id = f.start();
    Map<String, ProbeTransport.SignalCall> signals = f.transport.signals(2);
    signals.get("DPU0").reply().complete(ProbeTransport.started(id));
    signals.get("DPU1").reply().completeExceptionally(unavailable());
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown(id));
    ProbeTransport.ObserveCall dpu0Watch = f.transport.observes(1).get("DPU0"); // it keeps watching
    f.expectPreamble();
    List<Object> first = f.expectAnyOrder(3);
    assertEquals(Map.of(DpuAcknowledged.class, 1L, SignalAttemptFailed.class, 1L, DpuShutdownCompleted.class, 1L), classes(first));

    // attempt 2 comes 1 s after attempt 1 (backoff-min), not before
    f.expectNoCallFor(Duration.ofMillis(999));
    f.advance(Duration.ofMillis(1));
    ProbeTransport.SignalCall second = f.transport.signals(1).get("DPU1");
    second.reply().completeExceptionally(unavailable());
    assertEquals(2, f.expect(SignalAttemptFailed.class).attempt());

    // attempt 3 comes 2 s after attempt 2 (factor 2), and is the last
    f.expectNoCallFor(Duration.ofMillis(1999));
    f.advance(Duration.ofMillis(1));
    f.transport.signals(1).get("DPU1").reply().completeExceptionally(unavailable());
    assertEquals(3, f.expect(SignalAttemptFailed.class).attempt());
    assertTrue(f.expect(DpuGaveUp.class).reason().contains("no acknowledgment after 3 attempt(s)"));
    f.expectNoCallFor(Duration.ofMillis(999)); // given up: no more signals, only a watch after watch-retry
    f.advance(Duration.ofMillis(1));
    ProbeTransport.ObserveCall dpu1Watch = f.transport.observes(1).get("DPU1");

    AcknowledgmentsMissing missing = f.expect(AcknowledgmentsMissing.class);
    assertEquals(List.of("DPU1"), List.copyOf(missing.missing().keySet()));
    assertFalse(missing.deadlineExpired());
    // escalation: the DPU without a graceful shutdown gets its force action before the reboot, once
    CampaignEvent.DpuEscalated escalated = f.expect(CampaignEvent.DpuEscalated.class);
    assertEquals("DPU1", escalated.dpuId());
    assertTrue(escalated.reason().contains("no acknowledgment after 3 attempt(s)"), escalated.reason());
    assertTrue(f.expect(CampaignEvent.DpuForced.class).ok());
    assertEquals(List.of("DPU1"), f.host.forced);
    f.expect(RebootIssued.class);
    f.expect(RebootActionReturned.class);
    f.expect(RebootReturned.class);
    dpu0Watch.reply().complete(ProbeTransport.listening());
    dpu1Watch.reply().complete(ProbeTransport.listening()); // the unreachable DPU is back after the reboot
    assertEquals(Map.of(DpuReady.class, 2L), classes(f.expectAnyOrder(2)));
    assertEquals("degraded", f.expect(CampaignFinished.class).outcome());
    assertEquals(1, f.host.reboots.get());

    HistoryEntry dpu1 = f.state().history().get("DPU1").get(0);
    assertEquals("failed", dpu1.outcome());
    assertTrue(dpu1.detail().contains("connection refused"), dpu1.detail());
  }

  @Test
  void aDpuThatAcknowledgesButNeverCompletesIsRecordedAtTheDeadlineAndLateOrStaleReportsAreIgnored() {
    Fixture f = new Fixture(1, false);
    String id = f.start();
    ProbeTransport.SignalCall signal = f.transport.signals(1).get("DPU0");
    signal.reply().complete(ProbeTransport.started(id));
    ProbeTransport.ObserveCall watch = f.transport.observes(1).get("DPU0"); // stays open: the DPU never completes
    f.expectPreamble();
    f.expect(DpuAcknowledged.class);

    // a completion for another campaign is not this campaign's completion
    f.toCampaigns(new Coordinator.FromLink("c-older", "DPU0", new LinkReport.Completed(false, "")));
    f.expectNothingNew();

    f.advance(ACK_DEADLINE);
    AcknowledgmentsMissing missing = f.expect(AcknowledgmentsMissing.class);
    assertTrue(missing.deadlineExpired());
    assertTrue(missing.missing().get("DPU0").startsWith("acknowledged but did not report shutdown complete"), missing.missing().toString());
    f.expect(CampaignEvent.DpuEscalated.class);
    f.expect(CampaignEvent.DpuForced.class);
    f.expect(RebootIssued.class);
    f.expect(RebootActionReturned.class);
    f.expect(RebootReturned.class);

    // a completion that arrives after the deadline changes nothing
    f.toCampaigns(new Coordinator.FromLink(id, "DPU0", new LinkReport.Completed(false, "")));
    watch.reply().complete(new DpuTransport.Observation(DpuTransport.State.LISTENING, 9, List.of(id), false, "", "boot-2"));
    f.expect(DpuReady.class);
    assertEquals("degraded", f.expect(CampaignFinished.class).outcome());
    assertEquals(DpuStatus.FAILED, f.state().last().dpus().get("DPU0").status());
  }

  @Test
  void afterTheDeadlineNoMoreSignalsAreSentSoNoDpuShutsDownLate() {
    Fixture f = new Fixture(1, false);
    f.start();
    ProbeTransport.SignalCall hanging = f.transport.signals(1).get("DPU0"); // attempt 1 is still on the wire
    f.expectPreamble();
    f.advance(ACK_DEADLINE);
    f.expect(AcknowledgmentsMissing.class);
    f.expect(CampaignEvent.DpuEscalated.class);
    f.expect(CampaignEvent.DpuForced.class);
    f.expect(RebootIssued.class);
    f.expect(RebootActionReturned.class);
    f.expect(RebootReturned.class);
    hanging.reply().completeExceptionally(unavailable()); // it fails only now
    // no retry follows; the link only watches the DPU for the post-reboot check
    ProbeTransport.ObserveCall watch = f.transport.calls.expectMessageClass(ProbeTransport.ObserveCall.class);
    f.expectNoCallFor(Duration.ofSeconds(5));
    watch.reply().complete(ProbeTransport.listening());
    f.expect(DpuReady.class);
    f.expect(CampaignFinished.class);
  }

  @Test
  void aModuleShutdownHaltsThenPowersOffOnceAndOtherTransitionsOnThatDpuAreRefused() {
    Fixture f = new Fixture(2, false);
    NpuProtocol.StartReply shutdown = f.module("DPU0", "shutdown");
    assertTrue(shutdown.accepted(), shutdown.message());
    String id = shutdown.campaignId();
    ProbeTransport.SignalCall halt = f.transport.signals(1).get("DPU0");
    assertEquals(id, halt.request().campaignId());

    NpuProtocol.StartReply startup = f.module("DPU0", "startup");
    assertFalse(startup.accepted());
    assertTrue(startup.message().contains("DPU0 is already in a shutdown (" + id + ", phase HALTING"), startup.message());
    NpuProtocol.StartReply campaign = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.StartCampaign("x", CampaignKind.COLD, r));
    assertFalse(campaign.accepted());
    assertTrue(campaign.message().contains("DPU0 (shutdown " + id), campaign.message());
    assertFalse(f.module("DPU9", "shutdown").message().isEmpty());
    assertTrue(f.module("DPU9", "shutdown").message().startsWith("unknown DPU 'DPU9'; configured: DPU0, DPU1"));
    assertTrue(f.module("DPU1", "shutdown").accepted(), "another DPU shuts down in parallel");
    f.transport.signals(1).get("DPU1"); // left unanswered

    halt.reply().complete(ProbeTransport.started(id));
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown(id));
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    f.expect(ModuleEvent.ModuleHaltAcknowledged.class);
    assertTrue(f.expect(ModuleEvent.ModuleHalted.class).ok());
    f.expect(ModuleEvent.ModulePowerIssued.class);
    ModuleEvent.ModuleTransitionFinished done = f.expect(ModuleEvent.ModuleTransitionFinished.class);
    assertEquals("ok", done.outcome());
    assertEquals(List.of("DPU0"), f.host.powerOffs);

    CoordinatorFixture.State s = f.state();
    assertTrue(s.down("DPU0"));
    assertEquals("planned shutdown", s.history().get("DPU0").get(0).cause());
    assertEquals("replace a fan", s.history().get("DPU0").get(0).reason());

    // shut down again: it already is; nothing is halted or powered off a second time
    NpuProtocol.StartReply again = f.module("DPU0", "shutdown");
    assertTrue(again.accepted() && again.campaignId().isEmpty(), again.message());
    assertTrue(again.message().startsWith("DPU0 is already administratively down since "), again.message());
    f.expectNothingNew();
    assertEquals(List.of("DPU0"), f.host.powerOffs);
  }

  @Test
  void aModuleStartupPowersOnAndWaitsBoundedForTheDpuToAnswer() {
    Fixture f = new Fixture(1, false);
    TestProbe<NpuProtocol.StartReply> replies = kit.createTestProbe();
    // administratively up and answering Listening: nothing to do
    f.chassis.tell(new NpuProtocol.ModuleCommand("DPU0", ModuleKind.STARTUP, "replace a fan", false, replies.ref()));
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.listening());
    NpuProtocol.StartReply alreadyUp = replies.receiveMessage();
    assertTrue(alreadyUp.accepted() && alreadyUp.campaignId().isEmpty(), alreadyUp.message());
    assertTrue(alreadyUp.message().startsWith("DPU0 is already up (administratively up, and answering: Listening)"), alreadyUp.message());
    f.expectNothingNew(); // nothing powered on, nothing journaled
    assertEquals(List.of(), f.host.powerOns);

    // administratively up but halted (as a cancelled campaign leaves a DPU): the startup runs
    f.chassis.tell(new NpuProtocol.ModuleCommand("DPU0", ModuleKind.STARTUP, "replace a fan", false, replies.ref()));
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown("c-cancelled"));
    String first = replies.receiveMessage().campaignId();
    assertFalse(first.isEmpty());
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    f.expect(ModuleEvent.ModulePowerIssued.class);
    f.expect(ModuleEvent.ModulePoweredOn.class);
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown(first)); // still down
    f.transport.observes(1); // the next poll stays open: it never comes up
    f.advance(Duration.ofSeconds(20)); // the module boot wait
    ModuleEvent.ModuleTransitionFinished timedOut = f.expect(ModuleEvent.ModuleTransitionFinished.class);
    assertEquals("failed", timedOut.outcome());
    assertTrue(timedOut.detail().startsWith("not Listening within the boot wait (20 s)"), timedOut.detail());

    f.module("DPU0", "startup", true); // --force: no question first
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.listening());
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    f.expect(ModuleEvent.ModulePowerIssued.class);
    f.expect(ModuleEvent.ModulePoweredOn.class);
    assertEquals("ok", f.expect(ModuleEvent.ModuleTransitionFinished.class).outcome());
    assertEquals(List.of("DPU0", "DPU0"), f.host.powerOns);
    assertFalse(f.state().down("DPU0"));
  }

  @Test
  void aRestartDuringAModulePowerOffClosesTheTransitionWithoutRunningTheCommandAgain() {
    Fixture f = new Fixture(2, false);
    f.host.powerHangs = true;
    String id = f.module("DPU0", "shutdown").campaignId();
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown(id));
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    f.expect(ModuleEvent.ModuleHaltAcknowledged.class);
    f.expect(ModuleEvent.ModuleHalted.class);
    f.expect(ModuleEvent.ModulePowerIssued.class);

    f.restart();

    ModuleEvent.ModuleTransitionFinished closed = f.expect(ModuleEvent.ModuleTransitionFinished.class);
    assertTrue(closed.detail().contains("power-off was issued before an NPU service restart"), closed.detail());
    assertEquals(List.of("DPU0"), f.host.powerOffs, "the power-off command ran once");
    assertTrue(f.state().down("DPU0"));

    // a campaign now leaves the powered-off DPU out
    NpuProtocol.StartReply campaign = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.StartCampaign("x", CampaignKind.COLD, r));
    assertTrue(campaign.message().contains("1 administratively down, left out"), campaign.message());
    assertEquals(List.of(new DpuEndpoint("DPU1", "127.0.0.1", 50052)), f.expect(CampaignStarted.class).dpus());
  }

  @Test
  void aSignalWithoutCampaignIdsIsSentAfterItsBaselineIsJournaledSoARestartedServiceDoesNotSendItAgainOnceItGotThrough() {
    Fixture f = new Fixture(1, false);
    f.transport.withBaselines();
    String id = f.start();
    DpuTransport.Baseline before = new DpuTransport.Baseline(4, 1_000, "boot-1", false);
    f.transport.calls.expectMessageClass(ProbeTransport.BaselineCall.class).reply().complete(before);
    f.expectPreamble();
    assertEquals(before, f.expect(CampaignEvent.DpuBaselined.class).baseline());
    f.transport.signals(1); // only now; the service is killed with this HALT on the wire and its answer is never heard

    f.restart();

    // The DPU halted and came back by itself meanwhile (a new boot): that HALT got through, and none is sent again.
    f.transport.calls.expectMessageClass(ProbeTransport.BaselineCall.class).reply()
        .complete(new DpuTransport.Baseline(4, 1_000, "boot-2", false));
    DpuAcknowledged ack = f.expect(DpuAcknowledged.class);
    assertEquals("IN_PROGRESS", ack.disposition());
    assertEquals(4L, ack.countBefore());
    ProbeTransport.ObserveCall poll = f.transport.calls.expectMessageClass(ProbeTransport.ObserveCall.class);
    assertEquals("boot-1", poll.evidence().bootBefore());
    poll.reply().complete(ProbeTransport.shutDown(id));
    f.expect(DpuShutdownCompleted.class);
    f.expect(AcknowledgmentsCollected.class);
  }

  @Test
  void aModuleHaltWithoutCampaignIdsJournalsItsBaselineBeforeTheHalt() {
    Fixture f = new Fixture(1, false);
    f.transport.withBaselines();
    String id = f.module("DPU0", "shutdown").campaignId();
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    DpuTransport.Baseline before = new DpuTransport.Baseline(0, 0, "", false);
    f.transport.calls.expectMessageClass(ProbeTransport.BaselineCall.class).reply().complete(before);
    assertEquals(before, f.expect(ModuleEvent.ModuleHaltBaselined.class).baseline());
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    assertEquals(id, f.expect(ModuleEvent.ModuleHaltAcknowledged.class).campaignId());
  }

  @Test
  void aRestartWhileAModuleHaltsPollsTheAcknowledgedDpuInsteadOfHaltingItAgain() {
    Fixture f = new Fixture(1, false);
    String id = f.module("DPU0", "shutdown").campaignId();
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    f.transport.observes(1); // the halt is still running
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    f.expect(ModuleEvent.ModuleHaltAcknowledged.class);

    f.restart();

    ProbeTransport.ObserveCall poll = f.transport.calls.expectMessageClass(ProbeTransport.ObserveCall.class);
    assertEquals("DPU0", poll.dpu().id(), "the resumed transition polls its own halt");
    poll.reply().complete(ProbeTransport.shutDown(id));
    f.expect(ModuleEvent.ModuleHalted.class);
    f.expect(ModuleEvent.ModulePowerIssued.class);
    assertEquals("ok", f.expect(ModuleEvent.ModuleTransitionFinished.class).outcome());
    assertEquals(List.of("DPU0"), f.host.powerOffs);
  }

  @Test
  void aDpuThatDoesNotFinishItsHaltWithinTheHaltTimeoutIsPoweredOffAnywayAndRecordedDegraded() {
    Fixture f = new Fixture(1, false);
    String id = f.module("DPU0", "shutdown").campaignId();
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    f.transport.observes(1); // never completes
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    f.expect(ModuleEvent.ModuleHaltAcknowledged.class);
    f.advance(Duration.ofSeconds(59));
    f.expectNothingNewFromLinks(Duration.ofMillis(200));
    f.advance(Duration.ofSeconds(1)); // the per-DPU halt timeout (60 s)
    ModuleEvent.ModuleHalted halted = f.expect(ModuleEvent.ModuleHalted.class);
    assertFalse(halted.ok());
    assertTrue(halted.detail().startsWith("shutdown not complete within the halt timeout (60000 ms)"), halted.detail());
    f.expect(ModuleEvent.ModulePowerIssued.class);
    assertEquals("degraded", f.expect(ModuleEvent.ModuleTransitionFinished.class).outcome());
    assertEquals(List.of("DPU0"), f.host.powerOffs, "SONiC's rule: after the halt timeout, the power action proceeds");
  }

  @Test
  void cancellingBeforeRebootRestartsHaltedDpusAndSaysWhatBecameOfEach() {
    Fixture f = new Fixture(3, false);
    String id = f.start();
    Map<String, ProbeTransport.SignalCall> signals = f.transport.signals(3);
    signals.get("DPU0").reply().complete(ProbeTransport.started(id));
    signals.get("DPU1").reply().complete(ProbeTransport.started(id));
    signals.get("DPU2").reply().completeExceptionally(unavailable());
    Map<String, ProbeTransport.ObserveCall> polls = f.transport.observes(2);
    polls.get("DPU0").reply().complete(ProbeTransport.shutDown(id)); // DPU0 has halted, DPU1 is still shutting down
    f.transport.observes(1); // DPU0's link keeps watching
    f.expectPreamble();
    f.expectAnyOrder(4);

    NpuProtocol.StartReply cancelled = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.CancelCampaign("plans changed", r));
    assertTrue(cancelled.accepted(), cancelled.message());
    assertTrue(cancelled.message().contains("1 halted DPU(s) restarting"), cancelled.message());
    CampaignEvent.CampaignCancelled event = f.expect(CampaignEvent.CampaignCancelled.class);
    assertTrue(event.dpuOutcomes().get("DPU0").startsWith("halted; restarting with a gNOI COLD reboot"), event.toString());
    assertTrue(event.dpuOutcomes().get("DPU1").startsWith("was shutting down; left to finish"), event.toString());
    assertEquals("not signalled (no acknowledgment yet)", event.dpuOutcomes().get("DPU2"));
    ModuleEvent.ModuleTransitionStarted restart = f.expect(ModuleEvent.ModuleTransitionStarted.class);
    assertEquals(ModuleKind.COLD, restart.kind());
    assertEquals("DPU0", restart.dpu().id());

    ProbeTransport.SignalCall cold = f.transport.calls.expectMessageClass(ProbeTransport.SignalCall.class);
    assertEquals("DPU0", cold.dpu().id());
    assertEquals("COLD", cold.request().method());
    CoordinatorFixture.State s = f.state();
    assertEquals(Phase.IDLE, s.phase());
    assertEquals("cancelled", s.last().outcome());
    assertEquals("cancelled", s.history().get("DPU1").get(0).outcome());
    assertFalse(f.journal.persistedInStorage(f.pid).stream().anyMatch(RebootIssued.class::isInstance), "no reboot was issued");
    assertEquals(0, f.host.reboots.get());
  }

  @Test
  void cancelIsRefusedWithNothingInFlightAndOnceTheRebootIsReached() {
    Fixture f = new Fixture(1, true);
    NpuProtocol.StartReply idle = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.CancelCampaign("", r));
    assertFalse(idle.accepted());
    assertEquals("no campaign is in flight", idle.message());
    String id = f.start();
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown(id));
    f.expectPreamble();
    f.expect(DpuAcknowledged.class);
    f.expect(DpuShutdownCompleted.class);
    f.expect(AcknowledgmentsCollected.class);
    f.expect(RebootIssued.class);
    NpuProtocol.StartReply late = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.CancelCampaign("", r));
    assertFalse(late.accepted());
    assertTrue(late.message().contains("has reached phase Reboot; it can only be cancelled before Reboot"), late.message());
  }

  @Test
  void thePlanShowsTheDpusTheWorstCaseAndWhatIsInTheWay() {
    Fixture f = new Fixture(2, false);
    PlanView idle = f.<PlanView>ask(Chassis.GetPlan::new);
    assertEquals(List.of("DPU0", "DPU1"), idle.dpus().stream().map(PlanView.PlannedDpu::id).toList());
    // signals: 3 attempts x 1 s + pauses 1 s + 2 s = 6 s; plus the 60 s halt timeout = 66 s per DPU
    assertEquals(66_000, idle.dpus().get(0).budgetMillis());
    assertEquals(30_000, idle.worstCase().shutdownMillis(), "capped by the 30 s ack deadline");
    assertEquals(0, idle.worstCase().rebootMillis(), "dry run, returning at once");
    assertEquals(60_000, idle.worstCase().postRebootMillis());
    // + deferrals 2 min + protective states 10 min + escalation 10 s
    assertEquals(120_000, idle.worstCase().deferralMillis());
    assertEquals(600_000, idle.worstCase().protectiveMillis());
    assertEquals(10_000, idle.worstCase().escalationMillis());
    assertEquals(820_000, idle.worstCase().totalMillis());
    assertTrue(idle.blockers().isEmpty());

    String id = f.module("DPU0", "shutdown").campaignId();
    PlanView busy = f.<PlanView>ask(Chassis.GetPlan::new);
    assertEquals(List.of("DPU0 is in a module shutdown (" + id + ", HALTING)"), busy.blockers());
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown(id));
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    f.expect(ModuleEvent.ModuleHaltAcknowledged.class);
    f.expect(ModuleEvent.ModuleHalted.class);
    f.expect(ModuleEvent.ModulePowerIssued.class);
    f.expect(ModuleEvent.ModuleTransitionFinished.class);
    PlanView after = f.<PlanView>ask(Chassis.GetPlan::new);
    assertEquals(List.of("DPU1"), after.dpus().stream().map(PlanView.PlannedDpu::id).toList());
    assertEquals(List.of("DPU0 (administratively down)"), after.leftOut());
  }

  /** Runs a campaign up to PostReboot, every DPU halted; returns the post-reboot long polls by DPU. */
  private static Map<String, ProbeTransport.ObserveCall> toPostReboot(Fixture f, int dpus) {
    String id = f.start();
    f.transport.signals(dpus).values().forEach(c -> c.reply().complete(ProbeTransport.started(id)));
    f.transport.observes(dpus).values().forEach(c -> c.reply().complete(ProbeTransport.shutDown(id)));
    Map<String, ProbeTransport.ObserveCall> watches = f.transport.observes(dpus);
    f.expectPreamble();
    f.expectAnyOrder(2 * dpus);
    f.expect(AcknowledgmentsCollected.class);
    f.expect(RebootIssued.class);
    f.expect(RebootActionReturned.class);
    f.expect(RebootReturned.class);
    return watches;
  }

  @Test
  void eachDpuHasItsOwnBootWaitAndOneNotBackInTimeIsMarkedUnavailableWhileTheCampaignGoesOn() {
    Fixture f = new Fixture(2, false, Map.of(
        "DPU0", new NpuSettings.DpuPolicy(Duration.ofSeconds(5), false),
        "DPU1", new NpuSettings.DpuPolicy(Duration.ofSeconds(40), false)));
    Map<String, ProbeTransport.ObserveCall> watches = toPostReboot(f, 2);
    f.advance(Duration.ofSeconds(5)); // DPU0's own limit
    CampaignEvent.DpuNotReady late = f.expect(CampaignEvent.DpuNotReady.class);
    assertEquals("DPU0", late.dpuId());
    assertEquals("not Listening within its boot wait (5 s); last seen: WAIT_FOR_RESTART", late.reason());
    f.expectNothingNew(); // DPU1 still has time
    f.advance(Duration.ofSeconds(5));
    watches.get("DPU1").reply().complete(ProbeTransport.listening());
    f.expect(DpuReady.class);
    CampaignFinished done = f.expect(CampaignFinished.class);
    assertEquals("degraded", done.outcome());
    assertEquals(java.util.Set.of("DPU0"), done.notReady().keySet());
  }

  @Test
  void aRequiredDpuHoldsThePostRebootPhaseUntilItsOwnLongerLimit() {
    Fixture f = new Fixture(2, false, Map.of(
        "DPU0", new NpuSettings.DpuPolicy(Duration.ofSeconds(5), false),
        "DPU1", new NpuSettings.DpuPolicy(Duration.ofSeconds(40), true)));
    Map<String, ProbeTransport.ObserveCall> watches = toPostReboot(f, 2);
    watches.get("DPU0").reply().complete(ProbeTransport.listening());
    f.expect(DpuReady.class);
    f.advance(Duration.ofSeconds(39));
    f.expectNothingNew();
    assertEquals(Phase.POST_REBOOT, f.state().phase(), "the required DPU keeps the phase open");
    f.advance(Duration.ofSeconds(1));
    CampaignEvent.DpuNotReady required = f.expect(CampaignEvent.DpuNotReady.class);
    assertTrue(required.reason().contains("a required DPU"), required.reason());
    assertEquals("degraded", f.expect(CampaignFinished.class).outcome());
  }

  @Test
  void afterARestartDuringPostRebootEachDpusBootDeadlineIsKeptNotRestarted() {
    Fixture f = new Fixture(1, false, Map.of("DPU0", new NpuSettings.DpuPolicy(Duration.ofSeconds(20), false)));
    toPostReboot(f, 1);
    f.advance(Duration.ofSeconds(12)); // 8 s of its 20 s boot wait left

    f.restart();

    f.transport.calls.expectMessageClass(ProbeTransport.ObserveCall.class); // the resumed check, never answered Listening
    f.advance(Duration.ofMillis(7_999));
    f.expectNothingNew();
    f.advance(Duration.ofMillis(1));
    assertEquals("DPU0", f.expect(CampaignEvent.DpuNotReady.class).dpuId());
    f.expect(CampaignFinished.class);
  }

  @Test
  void aDuplicateAcknowledgmentIsJournaledOnce() {
    Fixture f = new Fixture(1, false);
    String id = f.start();
    ProbeTransport.SignalCall call = f.transport.signals(1).get("DPU0");
    f.expectPreamble();
    LinkReport.Acknowledged ack = new LinkReport.Acknowledged(1, ProbeTransport.started(id));
    f.toCampaigns(new Coordinator.FromLink(id, "DPU0", ack));
    f.toCampaigns(new Coordinator.FromLink(id, "DPU0", ack));
    call.reply().complete(ProbeTransport.started(id)); // and the link's own report of the same ack
    f.expect(DpuAcknowledged.class);
    f.transport.observes(1);
    f.expectNothingNewFromLinks(Duration.ofMillis(200));
    assertEquals(DpuStatus.ACKNOWLEDGED, f.state().current().dpus().get("DPU0").status());
  }

  @Test
  void aSecondCampaignWhileOneIsInFlightIsRefusedWithTheRunningOne() {
    Fixture f = new Fixture(1, false);
    String id = f.start();
    NpuProtocol.StartReply second = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.StartCampaign("again", CampaignKind.COLD, r));
    assertFalse(second.accepted());
    assertEquals(id, second.campaignId());
    assertTrue(second.message().contains("is in progress"), second.message());
  }

  @Test
  void afterARestartAcknowledgedDpusAreOnlyWatchedAndTheDeadlineIsNotExtended() {
    Fixture f = new Fixture(2, false);
    String id = f.start();
    Map<String, ProbeTransport.SignalCall> signals = f.transport.signals(2);
    signals.get("DPU0").reply().complete(ProbeTransport.started(id));
    signals.get("DPU1").reply().completeExceptionally(unavailable());
    f.transport.observes(1); // DPU0's long poll, left open
    f.expectPreamble();
    f.expectAnyOrder(2); // DPU0 acknowledged, DPU1 attempt 1 failed
    f.advance(Duration.ofSeconds(1));
    f.transport.signals(1); // DPU1 attempt 2, never answered
    f.advance(Duration.ofSeconds(9)); // 10 s of the 30 s deadline are gone

    f.restart();

    List<Object> calls = new ArrayList<>(List.of(f.transport.calls.receiveMessage(), f.transport.calls.receiveMessage()));
    ProbeTransport.ObserveCall watch = calls.stream().filter(ProbeTransport.ObserveCall.class::isInstance)
        .map(ProbeTransport.ObserveCall.class::cast).findFirst().orElseThrow();
    ProbeTransport.SignalCall resend = calls.stream().filter(ProbeTransport.SignalCall.class::isInstance)
        .map(ProbeTransport.SignalCall.class::cast).findFirst().orElseThrow();
    assertEquals("DPU0", watch.dpu().id(), "the acknowledged DPU is watched, not signalled again");
    assertEquals("DPU1", resend.dpu().id());
    assertEquals(id, resend.request().campaignId(), "a redelivered signal carries the same campaign id");

    f.expectNothingNew();
    f.advance(Duration.ofMillis(19_999));
    f.expectNothingNew();
    f.advance(Duration.ofMillis(1));
    AcknowledgmentsMissing missing = f.expect(AcknowledgmentsMissing.class);
    assertEquals(Map.of("DPU0", true, "DPU1", true),
        missing.missing().keySet().stream().collect(Collectors.toMap(k -> k, k -> true)));
  }

  @Test
  void aDeadlineThatPassedWhileTheServiceWasDownWaitsForOneLookAtTheDpusBeforeRecordingThem() {
    Fixture f = new Fixture(2, false);
    String id = f.start();
    Map<String, ProbeTransport.SignalCall> signals = f.transport.signals(2);
    signals.get("DPU0").reply().complete(ProbeTransport.started(id));
    signals.get("DPU1").reply().complete(ProbeTransport.started(id));
    f.transport.observes(2); // both shutting down, their long polls open
    f.expectPreamble();
    f.expectAnyOrder(2); // both acknowledged

    f.restartAfter(Duration.ofSeconds(40)); // down across the 30 s deadline (a restart, or a journal that could not be written)

    Map<String, ProbeTransport.ObserveCall> looks = f.transport.observes(2);
    looks.get("DPU0").reply().complete(ProbeTransport.shutDown(id)); // it completed meanwhile; DPU1 does not answer
    assertEquals("DPU0", f.expect(DpuShutdownCompleted.class).dpuId(), "a DPU that completed while the service was down is not failed");
    f.advance(Duration.ofMillis(999));
    f.expectNothingNew();
    f.advance(Duration.ofMillis(1)); // one look: the rpc timeout (1 s) after the recovery
    AcknowledgmentsMissing missing = f.expect(AcknowledgmentsMissing.class);
    assertEquals(List.of("DPU1"), List.copyOf(missing.missing().keySet()));
  }

  /**
   * The next transport call of the given type, once the failed link has been restarted: its restart backs off on the
   * scheduler (ManualTime), from whenever the failure was handled, so time is moved on in steps until the call comes.
   */
  private static Object afterRestart(Fixture f, Class<?> call) {
    for (int step = 0; step < 120; step++) {
      f.advance(Duration.ofMillis(250));
      try {
        return f.transport.calls.expectMessageClass(call, Duration.ofMillis(50));
      } catch (AssertionError notYet) {
        // not restarted yet
      }
    }
    throw new AssertionError("no " + call.getSimpleName() + " within 30 s of manual time after the link failed");
  }

  @Test
  void aLinkThatFailsGoesOnWithItsAttemptBudgetAfterItsRestart() {
    Fixture f = new Fixture(1, false);
    String id = f.start();
    f.transport.signals(1).get("DPU0").reply().completeExceptionally(unavailable());
    f.expectPreamble();
    assertEquals(1, f.expect(SignalAttemptFailed.class).attempt());
    f.advance(Duration.ofSeconds(1)); // backoff-min
    f.transport.signals(1).get("DPU0").reply().complete(null); // a malformed answer: the link's actor fails on it

    ProbeTransport.SignalCall third = (ProbeTransport.SignalCall) afterRestart(f, ProbeTransport.SignalCall.class);
    assertEquals(id, third.request().campaignId());
    third.reply().completeExceptionally(unavailable());
    assertEquals(3, f.expect(SignalAttemptFailed.class).attempt(), "the restarted link went on with attempt 3, not 1");
    assertTrue(f.expect(DpuGaveUp.class).reason().contains("no acknowledgment after 3 attempt(s)"));
    f.expectNoCallFor(Duration.ofMillis(999)); // the budget is spent: no fourth signal, only a watch after watch-retry
    f.advance(Duration.ofMillis(1));
    f.transport.observes(1);
  }

  @Test
  void aLinkRestartedAfterTheRebootStillReportsItsDpuReadyAndSignalsNothing() {
    Fixture f = new Fixture(1, false);
    ProbeTransport.ObserveCall watch = toPostReboot(f, 1).get("DPU0"); // the link was told to await readiness
    watch.reply().complete(new DpuTransport.Observation(null, 1, List.of(), false, "", "")); // its actor fails on this

    ProbeTransport.ObserveCall again = (ProbeTransport.ObserveCall) afterRestart(f, ProbeTransport.ObserveCall.class);
    again.reply().complete(ProbeTransport.listening());
    f.expect(DpuReady.class);
    assertEquals("success", f.expect(CampaignFinished.class).outcome());
    f.transport.calls.expectNoMessage(Duration.ofMillis(50)); // no signal after the reboot, no more polls
  }

  @Test
  void aLinkThatKeepsFailingGivesUpOnItsDpuAfterBoundedRestartsAndTheCampaignGoesOn() {
    // the reboot hangs: after the reboot the DPU's actor would (rightly) ask the DPU again, as new work
    Fixture f = new Fixture(1, true);
    String id = f.start();
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    f.expectPreamble();
    f.expect(DpuAcknowledged.class);
    // every answer to its state query makes the link's actor fail
    ProbeTransport.ObserveCall watch = f.transport.observes(1).get("DPU0");
    for (int i = 0; i < LinkMemory.MAX_RESTARTS; i++) {
      watch.reply().complete(new DpuTransport.Observation(null, 1, List.of(), false, "", ""));
      watch = (ProbeTransport.ObserveCall) afterRestart(f, ProbeTransport.ObserveCall.class);
    }
    watch.reply().complete(new DpuTransport.Observation(null, 1, List.of(), false, "", "")); // the last failure
    for (int step = 0; step < 120 && f.journal.persistedInStorage(f.pid).stream().noneMatch(DpuGaveUp.class::isInstance); step++) {
      f.advance(Duration.ofMillis(250)); // the last restart backs off too, then gives up
      f.transport.calls.expectNoMessage(Duration.ofMillis(20));
    }
    DpuGaveUp gaveUp = f.expect(DpuGaveUp.class);
    assertTrue(gaveUp.reason().contains("link to this DPU failed " + (LinkMemory.MAX_RESTARTS + 1) + " times"), gaveUp.reason());
    assertEquals(List.of("DPU0"), List.copyOf(f.expect(AcknowledgmentsMissing.class).missing().keySet()));
  }

  @Test
  void aServiceRecoversFromASnapshotAndTheEventsAfterIt() {
    Fixture f = new Fixture(1, true, Map.of(), CoordinatorFixture.negotiation(), CoordinatorFixture.REBOOT, 3);
    inReboot(f); // 7 events: snapshots after the 3rd and the 6th
    CoordinatorFixture.State before = f.state();
    org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit snapshots = f.snapshots;
    assertEquals(2, snapshots.persistedInStorage(f.pid).size(), "snapshots were taken");
    assertEquals(Phase.PROCEED_WITH_REBOOT, ((CoordinatorState) snapshots.persistedInStorage(f.pid).get(1).second()).phase(),
        "the latest snapshot is of the 6th event's state");
    f.host.rebootHangs = false;

    f.restart();

    // recovered from the snapshot plus the event after it: the same state, and the campaign goes on
    assertEquals(before.current().dpus(), f.state().current().dpus());
    assertTrue(f.expect(RebootActionRerun.class).why().contains("same boot"));
    f.expect(RebootActionReturned.class);
    f.expect(RebootReturned.class);
    finishes(f, "success");
  }

  @Test
  void aJournalWriteThatFailsRestartsTheCoordinatorWhichResumesFromWhatWasWritten() {
    Fixture f = new Fixture(1, false);
    String id = f.start();
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    f.expectPreamble();
    f.expect(DpuAcknowledged.class);
    f.journal.failNextPersisted(f.pid); // the write of the completion fails (a full disk, a lost database)
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown(id));
    f.transport.observes(1); // that link's next poll: it is stopped with the coordinator's restart and never answered

    // the coordinator restarts (backing off 200 ms), recovers up to the acknowledgment and watches the DPU again
    ProbeTransport.ObserveCall again = (ProbeTransport.ObserveCall) afterRestart(f, ProbeTransport.ObserveCall.class);
    assertTrue(f.journal.persistedInStorage(f.pid).stream().noneMatch(DpuShutdownCompleted.class::isInstance), "the failed write is not there");
    assertEquals(Phase.WAIT_FOR_ACKNOWLEDGMENTS, f.state().phase());
    assertEquals(DpuStatus.ACKNOWLEDGED, f.state().current().dpus().get("DPU0").status());
    again.reply().complete(ProbeTransport.shutDown(id));
    f.expect(DpuShutdownCompleted.class);
    f.expect(AcknowledgmentsCollected.class);
    f.expect(RebootIssued.class);
    f.state(); // RebootIssued is in the journal before the action it precedes has run: read after the coordinator ran it
    assertEquals(1, f.host.reboots.get());
  }

  /** A campaign of one DPU that shut down, in phase Reboot with the reboot action issued (and hanging, unless told). */
  private Fixture inReboot(Fixture f) {
    String id = f.start();
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.shutDown(id));
    f.transport.observes(1); // the watch before the restart, never answered
    f.expectPreamble();
    f.expect(DpuAcknowledged.class);
    f.expect(DpuShutdownCompleted.class);
    f.expect(AcknowledgmentsCollected.class);
    assertEquals(f.host.bootId, f.expect(RebootIssued.class).hostBootId(), "the boot id is journaled with the action");
    assertEquals(Phase.REBOOT, f.state().phase());
    return f;
  }

  /** After the restart: the DPU is back and the campaign ends with {@code outcome}. */
  private static void finishes(Fixture f, String outcome) {
    f.transport.observes(1).get("DPU0").reply().complete(ProbeTransport.listening());
    f.expect(DpuReady.class);
    assertEquals(outcome, f.expect(CampaignFinished.class).outcome());
  }

  @Test
  void aRestartOnTheSameBootWithNoReturnOnRecordRunsTheRebootActionAgainAndSaysSo() {
    Fixture f = inReboot(new Fixture(1, true));
    f.host.rebootHangs = false; // killed between journaling the action and its return: this time it returns

    f.restart();

    RebootActionRerun rerun = f.expect(RebootActionRerun.class);
    assertTrue(rerun.why().contains("same boot (boot id boot-1) with no return of the action on record"), rerun.why());
    assertTrue(f.expect(RebootActionReturned.class).ok());
    RebootReturned returned = f.expect(RebootReturned.class);
    assertTrue(returned.ok(), returned.detail());
    assertEquals(2, f.host.reboots.get(), "the interrupted action ran again, once");
    assertTrue(f.state().current().reboot().contains("[run again: the service restarted on the same boot"), f.state().current().reboot());
    finishes(f, "success");
  }

  @Test
  void anInterruptedActionIsRunAgainAtMostOncePerBoot() {
    Fixture f = inReboot(new Fixture(1, true)); // the action never returns, this time either

    f.restart();
    f.expect(RebootActionRerun.class);
    f.state(); // answered once the rerun's side effect (running the action) has run
    assertEquals(2, f.host.reboots.get());

    f.restart(); // interrupted again, on the same boot
    RebootReturned returned = f.expect(RebootReturned.class);
    assertFalse(returned.ok(), returned.detail());
    assertTrue(returned.detail().contains("after running it once more on this boot: it is not run a third time"), returned.detail());
    assertEquals(2, f.host.reboots.get());
    finishes(f, "degraded");
  }

  @Test
  void aCampaignFromAJournalThatDidNotRecordReturnsIsNeverRunAgain() {
    Fixture f = new Fixture(1, false);
    DpuEndpoint dpu = new DpuEndpoint("DPU0", "127.0.0.1", 50051);
    long at = f.clock.millis();
    // what the previous version journaled up to the reboot: RebootIssued without returnJournaled, no return event
    f.journal.persistForRecovery(f.pid, List.of(new CampaignStarted("c-old", "test", CampaignKind.COLD, at, List.of(dpu), false),
        new PreRebootTasksDone("c-old", List.of(), at), new SignalsDispatched("c-old", at + 30_000, at, 0),
        new DpuAcknowledged("c-old", "DPU0", 1, "STARTED", "ACK STARTED", at, null), new DpuShutdownCompleted("c-old", "DPU0", false, "", at, null),
        new AcknowledgmentsCollected("c-old", at), new RebootIssued("c-old", "test reboot", at, "boot-1", null)));

    f.restart();

    RebootReturned returned = f.expect(RebootReturned.class);
    assertFalse(returned.ok(), returned.detail());
    assertTrue(returned.detail().contains("issued by a version that did not journal its return: it may have run, so it is not run again"),
        returned.detail());
    assertEquals(0, f.host.reboots.get());
  }

  @Test
  void aRestartAfterTheRebootActionReturnedNeverRunsItAgain() {
    NpuSettings.Reboot pause = new NpuSettings.Reboot("", Duration.ofSeconds(10), Duration.ofSeconds(5), true);
    Fixture f = new Fixture(1, false, Map.of(), CoordinatorFixture.negotiation(), pause);
    inReboot(f);
    assertTrue(f.expect(RebootActionReturned.class).ok());
    assertEquals(Phase.REBOOT, f.state().phase(), "waiting return-after for the host to go down");

    f.restart();

    RebootReturned returned = f.expect(RebootReturned.class);
    assertTrue(returned.ok(), returned.detail());
    assertTrue(returned.detail().contains("the action returned before this service restarted; it is not run twice (this host did not "
        + "reboot: same boot id boot-1)"), returned.detail());
    assertEquals(1, f.host.reboots.get());
    finishes(f, "success");
  }

  @Test
  void aRestartOnANewBootGoesOnWithPostRebootWithoutRunningTheActionAgain() {
    Fixture f = inReboot(new Fixture(1, true));
    f.host.bootId = "boot-2"; // the action took the host down before it returned

    f.restart();

    RebootReturned returned = f.expect(RebootReturned.class);
    assertTrue(returned.ok(), returned.detail());
    assertEquals("this host rebooted (boot id boot-1 -> boot-2)", returned.detail());
    assertEquals(1, f.host.reboots.get());
    finishes(f, "success");
  }

  @Test
  void anActionThatReturnedWhileTheServiceWasDownIsTakenFromItsReturnFileAndNotRunAgain() {
    Fixture f = inReboot(new Fixture(1, true));
    f.host.returnedWhileDown = new StepResult("reboot", false, "exit 3; the action returned after this service had stopped", 0);

    f.restart();

    RebootReturned returned = f.expect(RebootReturned.class);
    assertFalse(returned.ok(), returned.detail());
    assertTrue(returned.detail().startsWith("exit 3; the action returned after this service had stopped; it is not run twice"),
        returned.detail());
    assertEquals(1, f.host.reboots.get());
    finishes(f, "degraded");
  }

  @Test
  void withAfterInterruptionReportTheInterruptedActionIsRecordedAsNotDoneAndNotRunAgain() {
    NpuSettings.Reboot report = new NpuSettings.Reboot("", Duration.ofSeconds(10), Duration.ZERO, false);
    Fixture f = inReboot(new Fixture(1, true, Map.of(), CoordinatorFixture.negotiation(), report));

    f.restart();

    RebootReturned returned = f.expect(RebootReturned.class);
    assertFalse(returned.ok(), returned.detail());
    assertTrue(returned.detail().contains("this host did not reboot and the action is not run again "
        + "(dpu-coordinator.npu.reboot.after-interruption = report)"), returned.detail());
    assertEquals(1, f.host.reboots.get());
    finishes(f, "degraded");
  }

  @Test
  void aHostWithoutABootIdNeverRunsAnIssuedActionAgain() {
    Fixture f = new Fixture(1, true);
    f.host.bootId = "";
    inReboot(f);

    f.restart();

    RebootReturned returned = f.expect(RebootReturned.class);
    assertFalse(returned.ok(), returned.detail());
    assertTrue(returned.detail().contains("no boot id to tell whether it rebooted: the action is not run again"), returned.detail());
    assertEquals(1, f.host.reboots.get());
    finishes(f, "degraded");
  }
}
