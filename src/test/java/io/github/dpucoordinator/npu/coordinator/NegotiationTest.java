package io.github.dpucoordinator.npu.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.chassis.Chassis;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.AcknowledgmentsMissing;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootIssued;
import io.github.dpucoordinator.npu.journal.HistoryEntry;
import io.github.dpucoordinator.npu.module.ModuleEvent;
import io.github.dpucoordinator.npu.notice.Notice;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootAnswered;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootFinished;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootGoing;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootNoticed;
import io.github.dpucoordinator.npu.notice.NoticeEvent;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.npu.settings.NegotiationSettings;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport.Disposition;
import io.github.dpucoordinator.npu.transport.DpuTransport.Observation;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalReply;
import io.github.dpucoordinator.npu.transport.DpuTransport.State;
import io.github.dpucoordinator.npu.transport.ProbeTransport;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What the NPU negotiates with its DPUs (issue 4): DPU-initiated reboots with postponement, deferrals,
 * protective states, escalation and unplanned events, each on a coordinator with a probe transport and
 * manual time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NegotiationTest {
  private static final long MINUTE = 60_000;

  private final ActorTestKit kit = CoordinatorFixture.testKit();
  private final ManualTime manualTime = ManualTime.get(kit.system());
  private final AtomicInteger ids = new AtomicInteger();

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private CoordinatorFixture fixture(int dpus, NegotiationSettings negotiation) {
    return new CoordinatorFixture(kit, manualTime, "negotiation-test-" + ids.incrementAndGet(), dpus, false, Map.of(), negotiation);
  }

  private CoordinatorFixture fixture(int dpus) {
    return fixture(dpus, CoordinatorFixture.negotiation());
  }

  private static NpuProtocol.NoticeReply notice(CoordinatorFixture f, String dpu, String id, long planned, long hardDeadline, int round) {
    return f.<NpuProtocol.NoticeReply>ask(r -> new NpuProtocol.NoticeReceived(dpu, id, "firmware upgrade", planned, hardDeadline,
        round, r));
  }

  private static StepResult notYet() {
    return new StepResult("migrate-vms", false, "exit 75: 3 VMs still migrating", 10, 75);
  }

  @Test
  void aDpuRebootIsAcknowledgedAfterTheHooksAndRecordedAsPlannedOnceTheDpuIsBack() {
    CoordinatorFixture f = fixture(1);
    f.host.hookResults.add(List.of(new StepResult("migrate-vms", true, "", 10)));
    long now = f.clock.millis();
    NpuProtocol.NoticeReply answer = notice(f, "DPU0", "n1", now, now + 10 * MINUTE, 1);
    assertEquals("", answer.error());
    assertEquals(NpuProtocol.Decision.ACK, answer.decision());
    assertEquals("npu", answer.responder(), "the DPU checks who answered against its allow-list");
    assertEquals(List.of("DPU0"), f.host.hookCalls);
    assertEquals(10 * MINUTE, f.expect(DpuRebootNoticed.class).hardDeadlineMillis() - now);
    assertEquals(NpuProtocol.Decision.ACK, f.expect(DpuRebootAnswered.class).decision());

    NpuProtocol.GoingReply going = f.<NpuProtocol.GoingReply>ask(r -> new NpuProtocol.GoingReceived("DPU0", "n1", "acknowledged", "", r))        ;
    assertTrue(going.ok());
    assertEquals(now + 60_000, going.expectBackBy(), "expected back within its boot wait");
    assertEquals("acknowledged", f.expect(DpuRebootGoing.class).why());

    // the return watch: still up (old boot id), then down, then Listening again
    f.transport.observes(1).get("DPU0").reply().complete(new Observation(State.SHUTDOWN, 4, List.of(), false, "", "boot-1"));
    f.advance(Duration.ofSeconds(1));
    f.transport.observes(1).get("DPU0").reply().completeExceptionally(new RuntimeException("connection refused"));
    f.advance(Duration.ofSeconds(1));
    f.transport.observes(1).get("DPU0").reply().complete(new Observation(State.LISTENING, 1, List.of(), false, "", "boot-2"));
    DpuRebootFinished finished = f.expect(DpuRebootFinished.class);
    assertEquals("ok", finished.outcome());
    HistoryEntry entry = f.state().history().get("DPU0").get(0);
    assertEquals("planned dpu-reboot (DPU-initiated)", entry.cause());
    assertEquals("ok", entry.outcome());
    assertEquals("firmware upgrade", entry.reason());
    assertTrue(f.state().notices().isEmpty());
  }

  @Test
  void aHookThatSaysNotYetPostponesWithinTheCapAndTheNpuAcknowledgesOnceTheCapIsReached() {
    CoordinatorFixture f = fixture(1);
    f.host.hookResults.add(List.of(notYet()));
    long now = f.clock.millis();
    long planned = now - 4 * MINUTE - 30_000; // 30 s of the 5 min cap left
    NpuProtocol.NoticeReply first = notice(f, "DPU0", "n2", planned, now + 10 * MINUTE, 1);
    assertEquals(NpuProtocol.Decision.POSTPONE, first.decision());
    assertEquals(planned + 5 * MINUTE, first.until(), "postpone-for (60 s) is cut to the total cap");
    assertTrue(first.reason().contains("3 VMs still migrating"), first.reason());
    f.expect(DpuRebootNoticed.class);
    assertEquals(NpuProtocol.Decision.POSTPONE, f.expect(DpuRebootAnswered.class).decision());

    // the same round again (our answer was lost): the same answer, the hooks do not run again
    assertEquals(first, notice(f, "DPU0", "n2", planned, now + 10 * MINUTE, 1));
    assertEquals(1, f.host.hookCalls.size());
    f.expectNothingNew();

    f.advance(Duration.ofSeconds(30));
    NpuProtocol.NoticeReply second = notice(f, "DPU0", "n2", planned, now + 10 * MINUTE, 2);
    assertEquals(NpuProtocol.Decision.ACK, second.decision(), "the hook still says not yet, but the cap is reached");
    assertTrue(second.reason().contains("postponement cap is reached"), second.reason());
    assertEquals(2, f.expect(DpuRebootNoticed.class).round());
    assertEquals(NpuProtocol.Decision.ACK, f.expect(DpuRebootAnswered.class).decision());
  }

  @Test
  void aBrokenHookNeverHoldsTheDpuAndAnUnknownDpuOrMalformedNoticeIsRefused() {
    CoordinatorFixture f = fixture(1);
    f.host.hookResults.add(List.of(new StepResult("migrate-vms", false, "exit 2: no such command", 3, 2)));
    long now = f.clock.millis();
    NpuProtocol.NoticeReply answer = notice(f, "DPU0", "n3", now, now + MINUTE, 1);
    assertEquals(NpuProtocol.Decision.ACK, answer.decision());
    assertTrue(answer.reason().contains("not holding the DPU for it"), answer.reason());

    assertTrue(notice(f, "DPU9", "n4", now, now + MINUTE, 1).error().contains("unknown DPU 'DPU9'; configured: DPU0"));
    assertFalse(notice(f, "DPU0", "", now, now + MINUTE, 1).error().isEmpty());
  }

  @Test
  void aDpuThatIsNotBackInTimeIsRecordedAndOneThatNeverSaysItWentCountsAsGoneAtItsHardDeadline() {
    CoordinatorFixture f = fixture(2);
    long now = f.clock.millis();
    notice(f, "DPU0", "n5", now, now + MINUTE, 1);
    f.expect(DpuRebootNoticed.class);
    f.expect(DpuRebootAnswered.class);
    // DPU0 never says it went: at its hard deadline (plus the slack for its own word) it counts as going
    f.advance(Duration.ofSeconds(60 + 20 + 1));
    DpuRebootGoing going = f.expect(DpuRebootGoing.class);
    assertTrue(going.why().contains("hard deadline passed"), going.why());
    assertEquals(now + MINUTE + 60_000, going.expectBackByMillis(), "expected back one boot wait after the hard deadline");
    f.transport.observes(1).get("DPU0").reply().completeExceptionally(new RuntimeException("connection refused"));
    f.advance(Duration.ofSeconds(60));
    DpuRebootFinished finished = f.expect(DpuRebootFinished.class);
    assertEquals("not back", finished.outcome());
    assertEquals("not back", f.state().history().get("DPU0").get(0).outcome());
  }

  @Test
  void aCampaignIsRefusedWhileADpuRebootsOnItsOwnAndAPostponementSurvivesARestartWithItsDeadlines() {
    CoordinatorFixture f = fixture(1);
    f.host.hookResults.add(List.of(notYet()));
    long now = f.clock.millis();
    NpuProtocol.NoticeReply answer = notice(f, "DPU0", "n6", now, now + 10 * MINUTE, 1);
    assertEquals(NpuProtocol.Decision.POSTPONE, answer.decision());
    NpuProtocol.StartReply refused = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.StartCampaign("x", CampaignKind.COLD, r));
    assertFalse(refused.accepted());
    assertTrue(refused.message().contains("DPUs rebooting on their own: DPU0 (notice n6"), refused.message());
    PlanView plan = f.<PlanView>ask(Chassis.GetPlan::new);
    assertTrue(plan.blockers().get(0).startsWith("DPU0 is rebooting on its own (notice n6"), plan.blockers().toString());

    f.restart();
    Notice recovered = f.state().notices().get("DPU0");
    assertEquals(now + 10 * MINUTE, recovered.hardDeadline());
    assertEquals(answer.until(), recovered.postponedUntil());
    // the hard-deadline timer is armed again from the journaled deadline
    f.journal.clearAll();
    f.advance(Duration.ofMinutes(10).plusSeconds(21));
    assertTrue(f.expect(DpuRebootGoing.class).why().contains("hard deadline passed"));
  }

  @Test
  void aDeferralIsHonouredUpToTheCampaignsCapThenTheDpuIsSignalledWithForce() {
    CoordinatorFixture f = fixture(1);
    String id = f.start();
    ProbeTransport.SignalCall first = f.transport.signals(1).get("DPU0");
    assertFalse(first.request().force());
    long now = f.clock.millis();
    first.reply().complete(new SignalReply(Disposition.DEFERRED, id, State.LISTENING, 3, "DEFERRED", now + 10 * MINUTE, "tenant backup"));
    f.expectPreamble();
    CampaignEvent.DpuDeferred deferred = f.expect(CampaignEvent.DpuDeferred.class);
    assertEquals(now + 2 * MINUTE, deferred.honouredUntil(), "the DPU asked for 10 min; the cap is 2 min");
    assertEquals(deferred.honouredUntil() + 66_000, deferred.ackDeadlineMillis(), "the DPU keeps its whole budget after the deferral");
    assertEquals("DEFERRED", statusOf(f.state(), now).lastCampaign().dpus().get(0).state());

    f.expectNoCallFor(Duration.ofMillis(2 * MINUTE - 1));
    f.advance(Duration.ofMillis(1));
    ProbeTransport.SignalCall forced = f.transport.signals(1).get("DPU0");
    assertTrue(forced.request().force(), "at the cap the signal goes with force");
    // the original 30 s deadline has long passed, but the campaign still waits for this DPU
    assertEquals(DpuStatus.PENDING, f.state().current().dpus().get("DPU0").status());
  }

  @Test
  void rebootForceSkipsDeferrals() {
    CoordinatorFixture f = fixture(1);
    assertEquals(120_000, f.<PlanView>ask(r -> new Chassis.GetPlan(false, r)).worstCase().deferralMillis());
    assertEquals(0, f.<PlanView>ask(r -> new Chassis.GetPlan(true, r)).worstCase().deferralMillis(),
        "the plan of `reboot --force` counts no deferrals");
    NpuProtocol.StartReply started = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.StartCampaign("x", CampaignKind.COLD, true, r));
    assertTrue(started.accepted());
    assertTrue(f.transport.signals(1).get("DPU0").request().force());
  }

  @Test
  void aDpuInAProtectiveStateHoldsTheCampaignUpToTheCapThenTheNpuProceedsLoudlyWithoutForcingIt() {
    CoordinatorFixture f = fixture(1);
    String id = f.start();
    f.transport.signals(1).get("DPU0").reply().complete(ProbeTransport.started(id));
    f.transport.observes(1).get("DPU0").reply().complete(new Observation(State.SHUTDOWN, 4, List.of(), false, "", "boot-1", "", false,
        "firmware-update (bios 2.1)", ""));
    f.expectPreamble();
    f.expect(CampaignEvent.DpuAcknowledged.class);
    assertEquals("firmware-update (bios 2.1)", f.expect(CampaignEvent.DpuProtective.class).protective());

    f.advance(CoordinatorFixture.ACK_DEADLINE);
    CampaignEvent.ProtectiveHold hold = f.expect(CampaignEvent.ProtectiveHold.class);
    assertEquals(Map.of("DPU0", "firmware-update (bios 2.1)"), hold.dpus());
    assertEquals(f.clock.millis() + 10 * MINUTE, hold.holdUntilMillis());
    assertEquals(0, f.host.reboots.get(), "nothing is rebooted while the DPU is protective");

    f.advance(Duration.ofMinutes(10));
    CampaignEvent.ProtectiveCapReached cap = f.expect(CampaignEvent.ProtectiveCapReached.class);
    assertEquals("proceed", cap.policy());
    AcknowledgmentsMissing missing = f.expect(AcknowledgmentsMissing.class);
    assertTrue(missing.missing().get("DPU0").contains("still in protective state firmware-update (bios 2.1) at the cap"));
    f.expect(RebootIssued.class);
    assertTrue(f.host.forced.isEmpty(), "a protective DPU is never forced");
    assertEquals(1, f.host.reboots.get());
  }

  @Test
  void withTheAbortPolicyTheCampaignEndsAtTheProtectiveCapAndNothingIsRebooted() {
    NegotiationSettings n = CoordinatorFixture.negotiation();
    CoordinatorFixture f = fixture(1, new NegotiationSettings(n.identity(), n.dpuApiHost(), n.dpuApiPort(), n.dpuRebootHooks(),
        n.postponeExitCode(), n.postponeFor(), n.maxPostponeTotal(), n.answerWithin(), n.deferMaxTotal(), Duration.ofMinutes(1),
        "abort", n.protectiveRecheck(), "", n.forceTimeout(), Map.of(), false, n.watchInterval(), 2, "", ""));
    String id = f.start();
    // a gNOI DPU refuses the Reboot during a crash dump: nothing started, asked again every recheck interval
    f.transport.signals(1).get("DPU0").reply().complete(new SignalReply(Disposition.PROTECTIVE, id, State.LISTENING, -1, "crash-dump: kdump"));
    f.expectPreamble();
    assertEquals("crash-dump: kdump", f.expect(CampaignEvent.DpuProtective.class).protective());
    f.advance(Duration.ofSeconds(5));
    f.transport.signals(1).get("DPU0").reply().complete(new SignalReply(Disposition.PROTECTIVE, id, State.LISTENING, -1, "crash-dump: kdump"));
    f.advance(CoordinatorFixture.ACK_DEADLINE.minusSeconds(5));
    f.expect(CampaignEvent.ProtectiveHold.class);
    f.advance(Duration.ofMinutes(1));
    assertEquals("abort", f.expect(CampaignEvent.ProtectiveCapReached.class).policy());
    CampaignEvent.CampaignCancelled aborted = f.expect(CampaignEvent.CampaignCancelled.class);
    assertTrue(aborted.aborted());
    assertEquals("aborted", f.state().last().outcome());
    assertEquals(0, f.host.reboots.get());
    assertEquals("aborted", f.state().history().get("DPU0").get(0).outcome());
  }

  @Test
  void aWarmCampaignLeavesGnoiDpusRunningRunsTheWarmActionAndNeverEscalates() {
    CoordinatorFixture f = fixture(2); // gNOI DPUs
    NpuProtocol.StartReply started = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.StartCampaign("x", CampaignKind.WARM, r));
    assertTrue(started.accepted());
    f.expectPreamble();
    List<Object> events = f.expectAnyOrder(4);
    assertEquals(2, events.stream().filter(e -> e instanceof CampaignEvent.DpuAcknowledged a && a.disposition().equals("NOT_SIGNALLED")
        && a.ack().contains("keeps power")).count());
    assertEquals(2, events.stream().filter(CampaignEvent.DpuShutdownCompleted.class::isInstance).count());
    f.expect(CampaignEvent.AcknowledgmentsCollected.class);
    f.expect(RebootIssued.class);
    // no DPU was asked to halt: the only calls are the post-reboot watches
    f.expect(CampaignEvent.RebootActionReturned.class);
    // read once the action has returned: RebootIssued is in the journal before the action it precedes has run
    assertEquals(List.of("warm"), f.host.kinds);
    f.expect(CampaignEvent.RebootReturned.class);
    f.transport.observes(2).values().forEach(c -> c.reply().complete(ProbeTransport.listening()));
    assertEquals(Map.of(CampaignEvent.DpuReady.class, 2L), events(f.expectAnyOrder(2)));
    assertEquals("success", f.expect(CampaignEvent.CampaignFinished.class).outcome());
    assertTrue(f.host.forced.isEmpty());
  }

  @Test
  void aPowerOffCampaignRunsThePowerOffActionOnlyOnceEveryDpuIsSafeToPowerOff() {
    CoordinatorFixture f = fixture(1);
    String id = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.StartCampaign("x", CampaignKind.POWER_OFF, r)).campaignId();
    ProbeTransport.SignalCall signal = f.transport.signals(1).get("DPU0");
    assertEquals("power-off", signal.request().kind());
    signal.reply().complete(ProbeTransport.started(id));
    f.expectPreamble();
    f.expect(CampaignEvent.DpuAcknowledged.class);
    ProbeTransport.ObserveCall poll = f.transport.observes(1).get("DPU0");
    f.expectNothingNew();
    assertEquals(0, f.host.reboots.get(), "the DPU has not reported its shutdown complete: not safe to power off yet");
    poll.reply().complete(ProbeTransport.shutDown(id));
    f.expect(CampaignEvent.DpuShutdownCompleted.class);
    f.expect(CampaignEvent.AcknowledgmentsCollected.class);
    f.expect(RebootIssued.class);
    f.state(); // RebootIssued is in the journal before the action it precedes has run: read after the coordinator ran it
    assertEquals(List.of("power-off"), f.host.kinds);
  }

  private static Map<Class<?>, Long> events(List<Object> events) {
    return events.stream().collect(java.util.stream.Collectors.groupingBy(Object::getClass, java.util.stream.Collectors.counting()));
  }

  @Test
  void aModuleShutdownOfADpuInAProtectiveStateIsRefusedAndNothingIsPoweredOff() {
    CoordinatorFixture f = fixture(1);
    NpuProtocol.StartReply started = f.<NpuProtocol.StartReply>ask(r -> new NpuProtocol.ModuleCommand("DPU0", ModuleKind.SHUTDOWN,
        "replace a fan", r));
    assertTrue(started.accepted());
    f.transport.signals(1).get("DPU0").reply().complete(new SignalReply(Disposition.PROTECTIVE, started.campaignId(), State.LISTENING, -1,
        "firmware-update: bios 2.1"));
    f.expect(ModuleEvent.ModuleTransitionStarted.class);
    ModuleEvent.ModuleTransitionFinished finished = f.expect(ModuleEvent.ModuleTransitionFinished.class);
    assertEquals("refused", finished.outcome());
    assertTrue(finished.detail().startsWith("the DPU reports protective state firmware-update: bios 2.1; nothing was halted"), finished.detail());
    assertTrue(f.host.powerOffs.isEmpty());
    assertFalse(f.state().down("DPU0"), "still up: nothing happened to it");
  }

  @Test
  void theWatcherRecordsADpuThatRestartsOrGoesAwayOutsideAnyCampaignAsUnplanned() {
    NegotiationSettings n = CoordinatorFixture.negotiation().withWatch(true, Duration.ofSeconds(5));
    CoordinatorFixture f = fixture(1, n);
    f.restart(); // the watcher starts with the recovered coordinator
    f.advance(Duration.ofSeconds(5));
    f.transport.observes(1).get("DPU0").reply().complete(new Observation(State.LISTENING, 1, List.of(), false, "", "boot-1"));
    f.advance(Duration.ofSeconds(5));
    f.transport.observes(1).get("DPU0").reply().complete(new Observation(State.LISTENING, 1, List.of(), false, "", "boot-2"));
    NoticeEvent.UnplannedEvent restarted = f.expect(NoticeEvent.UnplannedEvent.class);
    assertEquals("restarted on its own", restarted.what());
    for (int i = 0; i < 2; i++) {
      f.advance(Duration.ofSeconds(5));
      f.transport.observes(1).get("DPU0").reply().completeExceptionally(new RuntimeException("connection refused"));
    }
    assertEquals("went away", f.expect(NoticeEvent.UnplannedEvent.class).what());
    f.advance(Duration.ofSeconds(5));
    f.transport.observes(1).get("DPU0").reply().complete(new Observation(State.LISTENING, 1, List.of(), false, "", "boot-3"));
    assertEquals("came back", f.expect(NoticeEvent.UnplannedEvent.class).what());
    List<HistoryEntry> history = f.state().history().get("DPU0");
    assertEquals(List.of("unplanned: restarted on its own", "unplanned: went away", "unplanned: came back"),
        history.stream().map(HistoryEntry::cause).toList());
    assertTrue(history.stream().allMatch(h -> h.outcome().equals("unplanned")));
  }

  @Test
  void aPostponementMadeOnTheDpuReplacesTheNpusOwnAnswerInItsViewOfTheNotice() {
    CoordinatorFixture f = fixture(1);
    f.host.hookResults.add(List.of(notYet()));
    long now = f.clock.millis();
    assertEquals(NpuProtocol.Decision.POSTPONE, notice(f, "DPU0", "n-op", now, now + 30 * MINUTE, 1).decision());
    f.expect(DpuRebootNoticed.class);
    f.expect(DpuRebootAnswered.class);

    long until = now + 20 * MINUTE;
    NpuProtocol.GoingReply told = f.<NpuProtocol.GoingReply>ask(r -> new NpuProtocol.PostponedOnDpu("DPU0", "n-op", until,
        "operator", "tenant window", r));
    assertTrue(told.ok(), told.message());
    assertEquals(until, f.expect(NoticeEvent.DpuRebootPostponedOnDpu.class).untilMillis());
    Notice n = f.state().notices().get("DPU0");
    assertEquals(until, n.postponedUntil());
    assertEquals("postponed on the DPU by operator (tenant window)", n.answer());

    NpuProtocol.GoingReply unknown = f.<NpuProtocol.GoingReply>ask(r -> new NpuProtocol.PostponedOnDpu("DPU0", "n-other", until,
        "operator", "", r));
    assertFalse(unknown.ok());
    f.expectNothingNew();
  }

  @Test
  void thePlansBudgetReadsTheSameEverywhereItIsPrinted() {
    NpuSettings settings = NpuSettings.create(io.github.dpucoordinator.common.AppConfig.load())
        .withDpus(List.of(new DpuEndpoint("DPU0", "127.0.0.1", 50061)));
    PlanView plan = PlanView.of(CoordinatorState.empty(), io.github.dpucoordinator.npu.module.ModuleBook.empty(), io.github.dpucoordinator.npu.notice.NoticeBook.empty(), settings, false);
    String budget = PlanView.seconds(plan.dpus().get(0).budgetMillis());
    assertTrue(plan.worstCase().basis().contains("per-DPU budget " + budget + ","), budget + " in " + plan.worstCase().basis());
    assertTrue(plan.worstCase().basis().contains("gNOI has no deferral"), "gNOI DPUs cannot defer: " + plan.worstCase().basis());
  }

  private static StatusView statusOf(CoordinatorFixture.State s, long now) {
    return StatusView.of(s.campaigns(), s.modules(), s.noticeBook(), List.of(), Map.of(), now, 0, 10);
  }
}
