package io.github.dpucoordinator.npu.dpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.common.TestClock;
import io.github.dpucoordinator.npu.coordinator.CoordinatorFixture;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import io.github.dpucoordinator.npu.transport.DpuTransport.Baseline;
import io.github.dpucoordinator.npu.transport.DpuTransport.Evidence;
import io.github.dpucoordinator.npu.transport.DpuTransport.Observation;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest;
import io.github.dpucoordinator.npu.transport.DpuTransport.State;
import io.github.dpucoordinator.npu.transport.ProbeTransport.ObserveCall;
import io.github.dpucoordinator.npu.transport.ProbeTransport.SignalCall;
import io.github.dpucoordinator.npu.transport.ProbeTransport;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** One {@link DpuActor} alone: its transport and whoever gave it work are probes, and ManualTime moves its timers. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DpuActorTest {
  private static final String WORK = "c1";
  private static final Duration WATCH_INTERVAL = Duration.ofSeconds(5);

  private final ActorTestKit kit = CoordinatorFixture.testKit();
  private final ManualTime manualTime = ManualTime.get(kit.system());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  /** A DPU actor for DPU0 (gNOI unless {@code protocol} says otherwise), with the fixtures' retry settings. */
  private final class Dpu {
    final TestClock clock = new TestClock();
    final ProbeTransport transport = new ProbeTransport(kit.createTestProbe());
    final TestProbe<DpuActor.Report> reports = kit.createTestProbe();
    final TestProbe<DpuActor.Changed> changes = kit.createTestProbe();
    final TestProbe<DpuActor.Returned> returns = kit.createTestProbe();
    final DpuEndpoint endpoint;
    final ActorRef<DpuActor.Command> actor;

    Dpu(String protocol, boolean watchEnabled) {
      endpoint = new DpuEndpoint("DPU0", "127.0.0.1", 50051, protocol);
      NpuSettings settings = CoordinatorFixture.settings(0, Map.of(),
          CoordinatorFixture.negotiation().withWatch(watchEnabled, WATCH_INTERVAL), CoordinatorFixture.REBOOT, 1000);
      actor = kit.spawn(DpuActor.create(endpoint, transport, settings, new Random(1), clock, changes.ref()));
    }

    void engage(boolean acknowledged, int attemptsSoFar, long countBefore) {
      actor.tell(new DpuActor.Engage(endpoint, new LinkStart(WORK, LinkStart.Mode.SHUTDOWN,
          new SignalRequest(WORK, "cold", "test", 0), acknowledged, attemptsSoFar, 0, countBefore), reports.ref()));
    }

    void engage(LinkStart start) {
      actor.tell(new DpuActor.Engage(endpoint, start, reports.ref()));
    }

    ProbeTransport.BaselineCall baseline() {
      return transport.calls.expectMessageClass(ProbeTransport.BaselineCall.class);
    }

    void advance(Duration d) {
      clock.advance(d);
      manualTime.timePasses(d);
    }

    /** Nothing asked of the DPU for {@code d} of manual time. */
    void noCallFor(Duration d) {
      clock.advance(d);
      manualTime.expectNoMessageFor(d, transport.calls);
    }

    <R extends LinkReport> R report(Class<R> type) {
      DpuActor.Report r = reports.expectMessageClass(DpuActor.Report.class);
      assertEquals(WORK, r.workId());
      assertEquals("DPU0", r.dpuId());
      return type.cast(r.report());
    }

    /** The next report that is not only what the DPU was last seen doing. */
    <R extends LinkReport> R next(Class<R> type) {
      for (int i = 0; i < 10; i++) {
        LinkReport r = reports.expectMessageClass(DpuActor.Report.class).report();
        if (!(r instanceof LinkReport.Seen)) {
          return type.cast(r);
        }
      }
      throw new AssertionError("only Seen reports");
    }

    SignalCall signal() {
      return transport.calls.expectMessageClass(SignalCall.class);
    }

    ObserveCall observe() {
      return transport.calls.expectMessageClass(ObserveCall.class);
    }

    /** The first call of the restarted actor: ManualTime moves past its restart backoff in small steps. */
    <C> C afterRestart(Class<C> call) {
      for (int step = 0; step < 40; step++) {
        advance(Duration.ofMillis(100));
        try {
          return transport.calls.expectMessageClass(call, Duration.ofMillis(50));
        } catch (AssertionError notYet) {
          // still backing off
        }
      }
      throw new AssertionError("no " + call.getSimpleName() + " within 4 s of manual time after the failure");
    }

    void stop() {
      kit.stop(actor);
    }
  }

  private static Throwable unavailable() {
    return Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException();
  }

  private static Observation listening(String bootId) {
    return new Observation(State.LISTENING, 1, List.of(), false, "", bootId);
  }

  @Test
  void retriesAnUnansweredSignalOnItsBackoffScheduleThenGivesUp() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.engage(false, 0, -1);
    d.signal().reply().completeExceptionally(unavailable());
    assertEquals(1, d.report(LinkReport.AttemptFailed.class).attempt());
    d.noCallFor(Duration.ofMillis(999)); // backoff-min 1 s
    d.advance(Duration.ofMillis(1));
    d.signal().reply().completeExceptionally(unavailable());
    assertEquals(2, d.report(LinkReport.AttemptFailed.class).attempt());
    d.noCallFor(Duration.ofMillis(1999)); // doubled
    d.advance(Duration.ofMillis(1));
    d.signal().reply().completeExceptionally(unavailable());
    assertEquals(3, d.report(LinkReport.AttemptFailed.class).attempt());
    assertTrue(d.report(LinkReport.GaveUp.class).reason().startsWith("no acknowledgment after 3 attempt(s)"));
    d.noCallFor(Duration.ofMillis(999)); // no fourth attempt; it keeps watching the DPU after watch-retry
    d.advance(Duration.ofMillis(1));
    d.observe();
    d.stop();
  }

  @Test
  void aFailureInTheActorDoesNotGrantItsWorkAFreshBudget() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.engage(false, 1, -1); // attempt 1 was journaled by the owner before a restart of the NPU service
    d.signal().reply().complete(null); // attempt 2, a malformed answer: the actor fails on it and is restarted (backoff 200 ms)
    SignalCall third = d.afterRestart(SignalCall.class);
    third.reply().completeExceptionally(unavailable());
    assertEquals(3, d.report(LinkReport.AttemptFailed.class).attempt(), "the restarted actor went on with attempt 3");
    assertTrue(d.report(LinkReport.GaveUp.class).reason().startsWith("no acknowledgment after 3 attempt(s)"));
    d.stop();
  }

  @Test
  void anActorThatFailsOnItsLastAttemptGivesUpInsteadOfSignallingAgain() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.engage(false, 2, -1); // attempts 1 and 2 journaled by the owner
    d.signal().reply().complete(null); // attempt 3 fails the actor; its answer is lost with it
    for (int step = 0; step < 10; step++) {
      d.advance(Duration.ofMillis(100)); // past the restart backoff
    }
    assertTrue(d.next(LinkReport.GaveUp.class).reason().startsWith("no acknowledgment after 3 attempt(s)"));
    d.advance(Duration.ofSeconds(1)); // watch-retry
    d.observe(); // the next call to the DPU only watches it: a fourth signal would have come first
    d.stop();
  }

  private static final Baseline BEFORE = new Baseline(4, 1_000, "boot-1", false);

  private static LinkStart journaled(Baseline baseline, int attemptsSoFar) {
    return new LinkStart(WORK, LinkStart.Mode.SHUTDOWN, new SignalRequest(WORK, "cold", "test", 0), false, attemptsSoFar, 0, -1, baseline);
  }

  @Test
  void aSignalWithoutCampaignIdsGoesOnlyOnceItsOwnerHasJournaledTheDpusRebootRecord() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.transport.withBaselines();
    d.engage(false, 0, -1);
    d.baseline().reply().complete(BEFORE);
    assertEquals(BEFORE, d.next(LinkReport.Baselined.class).baseline());
    d.noCallFor(Duration.ofMillis(900)); // not journaled yet: nothing is sent
    d.actor.tell(new DpuActor.BaselineJournaled(WORK));
    d.signal().reply().complete(ProbeTransport.started(WORK));
    assertEquals(1, d.next(LinkReport.Acknowledged.class).attempt());
    assertEquals(new Evidence(4, false, "boot-1"), d.observe().evidence(), "completion is told apart by the baseline's count and boot");
    d.stop();
  }

  @Test
  void aBaselineTheOwnerDoesNotConfirmInTimeIsAFailedAttemptAndNothingIsSent() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.transport.withBaselines();
    d.engage(false, 0, -1);
    d.baseline().reply().complete(BEFORE);
    d.next(LinkReport.Baselined.class);
    d.advance(Duration.ofSeconds(1)); // the rpc timeout: the journal did not confirm
    LinkReport.AttemptFailed failed = d.next(LinkReport.AttemptFailed.class);
    assertTrue(failed.reason().contains("the journal did not confirm"), failed.reason());
    d.advance(Duration.ofSeconds(1)); // backoff: attempt 2 reads the record again and asks the owner again
    d.baseline().reply().complete(BEFORE);
    assertEquals(BEFORE, d.next(LinkReport.Baselined.class).baseline());
    d.actor.tell(new DpuActor.BaselineJournaled(WORK));
    assertEquals(WORK, d.signal().request().campaignId());
    d.stop();
  }

  @Test
  void afterARestartOfTheServiceADpuWhoseRecordMovedSinceItsJournaledBaselineIsNotSignalledAgain() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.transport.withBaselines();
    d.engage(journaled(BEFORE, 0)); // baseline journaled, then the service was killed with the HALT on the wire
    d.baseline().reply().complete(new Baseline(4, 1_000, "boot-2", false)); // it halted and came back by itself: a new boot
    LinkReport.Acknowledged ack = d.next(LinkReport.Acknowledged.class);
    assertEquals(DpuTransport.Disposition.IN_PROGRESS, ack.reply().disposition());
    assertEquals(4, ack.reply().countBefore());
    ObserveCall poll = d.observe(); // followed, not signalled: a SignalCall here fails the expectation
    assertEquals(new Evidence(4, false, "boot-1"), poll.evidence());
    poll.reply().complete(new Observation(State.LISTENING, 2, List.of(WORK), false, "", "boot-2"));
    d.next(LinkReport.Completed.class);
    d.stop();
  }

  @Test
  void afterARestartOfTheServiceADpuWhoseRecordDidNotMoveIsSignalledWithoutAnotherBaseline() {
    for (Baseline moved : List.of(new Baseline(5, 1_000, "boot-1", false), new Baseline(4, 2_000, "", false),
        new Baseline(4, 1_000, "boot-1", true))) {
      assertTrue(moved.movedSince(BEFORE), moved + " moved: a count, a start or a reboot running");
    }
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.transport.withBaselines();
    d.engage(journaled(BEFORE, 1));
    d.baseline().reply().complete(BEFORE); // the HALT never reached it
    SignalCall resend = d.signal();
    assertEquals(WORK, resend.request().campaignId());
    resend.reply().complete(ProbeTransport.started(WORK));
    assertEquals(2, d.next(LinkReport.Acknowledged.class).attempt(), "no second Baselined report: the journaled one holds");
    d.stop();
  }

  @Test
  void aDpuListeningInANewBootBeforeItsShutdownWasSeenCompleteIsRecordedDegradedAtOnceAndNotAskedAgain() {
    Dpu d = new Dpu(DpuEndpoint.REBOOT_SERVICE, false);
    d.engage(false, 0, -1);
    d.signal().reply().complete(ProbeTransport.started(WORK));
    d.next(LinkReport.Acknowledged.class);
    d.observe().reply().complete(new Observation(State.SHUTDOWN, 4, List.of(), false, "", "boot-1"));
    // SIGKILLed mid-shutdown and started again: a new boot that knows nothing of the campaign
    d.observe().reply().complete(new Observation(State.LISTENING, 1, List.of(), false, "", "boot-2"));
    LinkReport.Completed done = d.next(LinkReport.Completed.class);
    assertTrue(done.degraded());
    assertTrue(done.detail().contains("restarted (boot boot-1 -> boot-2) before its shutdown was seen complete"), done.detail());
    d.observe(); // watched from here, never signalled again: a SignalCall here fails the expectation
    d.stop();
  }

  @Test
  void followsAnAcknowledgedGnoiHaltWithTheJournaledEvidenceUntilItCompletes() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.engage(true, 1, 7); // acknowledged before a restart of the NPU service, reboot count 7 before the HALT
    ObserveCall poll = d.observe();
    assertEquals(new Evidence(7, false), poll.evidence(), "the completion evidence came from the owner's journal");
    poll.reply().complete(new Observation(State.WAIT_FOR_RESTART, 2, List.of(WORK), false, "", "boot-1"));
    LinkReport.Completed done = d.next(LinkReport.Completed.class);
    assertEquals(false, done.degraded());
    d.observe(); // it keeps following the DPU until the work is released or the reboot is over
    d.actor.tell(new DpuActor.Release(WORK));
    d.noCallFor(Duration.ofSeconds(30)); // released and not watching: it asks nothing more
    d.stop();
  }

  @Test
  void signalsOverTheSeedProtocolAndLongPollsFromTheRepliedVersionUntilComplete() {
    Dpu d = new Dpu(DpuEndpoint.REBOOT_SERVICE, false);
    d.engage(false, 0, -1);
    d.signal().reply().complete(ProbeTransport.started(WORK));
    assertEquals(1, d.next(LinkReport.Acknowledged.class).attempt());
    ObserveCall poll = d.observe();
    assertEquals(3, poll.knownVersion(), "a long poll from the version the acknowledgment carried");
    poll.reply().complete(new Observation(State.SHUTDOWN_COMPLETE, 4, List.of(WORK), true, "step 2 failed", "boot-1"));
    LinkReport.Completed done = d.next(LinkReport.Completed.class);
    assertTrue(done.degraded());
    assertEquals("step 2 failed", done.detail());
    d.stop();
  }

  @Test
  void reportsItsDpuReadyOnceListeningAfterTheRebootAndThenHasNoWork() {
    Dpu d = new Dpu(DpuEndpoint.REBOOT_SERVICE, false);
    d.engage(true, 1, -1);
    ObserveCall poll = d.observe();
    poll.reply().complete(ProbeTransport.shutDown(WORK));
    d.next(LinkReport.Completed.class);
    d.actor.tell(new DpuActor.AwaitReady(d.endpoint, new LinkStart(WORK, LinkStart.Mode.READY, null, true, 1), d.reports.ref()));
    d.observe().reply().complete(ProbeTransport.listening());
    d.next(LinkReport.Ready.class);
    d.noCallFor(Duration.ofSeconds(30)); // the work is done: no more polls
    d.stop();
  }

  @Test
  void awaitingReadinessWithoutWorkStartsItAndSignalsNothing() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.actor.tell(new DpuActor.AwaitReady(d.endpoint, new LinkStart(WORK, LinkStart.Mode.READY, null, true, 2), d.reports.ref()));
    d.observe().reply().completeExceptionally(unavailable()); // still booting
    d.noCallFor(Duration.ofMillis(999));
    d.advance(Duration.ofMillis(1)); // watch-retry
    d.observe().reply().complete(listening("boot-2"));
    d.next(LinkReport.Ready.class);
    d.stop();
  }

  @Test
  void aReplyForReleasedWorkIsDropped() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.engage(false, 0, -1);
    SignalCall call = d.signal();
    d.actor.tell(new DpuActor.Release(WORK));
    call.reply().complete(ProbeTransport.started(WORK)); // answered after the release
    d.reports.expectNoMessage(Duration.ofMillis(200));
    d.noCallFor(Duration.ofSeconds(10));
    d.stop();
  }

  @Test
  void whileIdleAndWatchingItReportsADpuThatGoesAwayComesBackAndRestarts() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, true);
    d.noCallFor(WATCH_INTERVAL.multipliedBy(2)); // not told to watch yet
    d.actor.tell(new DpuActor.Watch(true));
    d.advance(WATCH_INTERVAL);
    d.observe().reply().complete(listening("boot-1")); // the baseline
    for (int i = 0; i < 2; i++) { // watch.gone-after 2
      d.advance(WATCH_INTERVAL);
      d.observe().reply().completeExceptionally(unavailable());
    }
    DpuActor.Changed gone = d.changes.expectMessageClass(DpuActor.Changed.class);
    assertEquals("went away", gone.what());
    assertTrue(gone.detail().startsWith("unreachable 2 time(s) in a row"), gone.detail());
    d.advance(WATCH_INTERVAL);
    d.observe().reply().complete(listening("boot-1"));
    assertEquals("came back", d.changes.expectMessageClass(DpuActor.Changed.class).what());
    d.advance(WATCH_INTERVAL);
    d.observe().reply().complete(listening("boot-2"));
    assertEquals("restarted on its own", d.changes.expectMessageClass(DpuActor.Changed.class).what());

    d.actor.tell(new DpuActor.Watch(false)); // a campaign started: its work follows the DPU instead
    d.noCallFor(WATCH_INTERVAL.multipliedBy(3));
    d.stop();
  }

  @Test
  void somethingPlannedEndingMakesTheNextStateABaselineNotAChange() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, true);
    d.actor.tell(new DpuActor.Watch(true));
    d.advance(WATCH_INTERVAL);
    d.observe().reply().complete(listening("boot-1"));
    d.actor.tell(new DpuActor.Release("")); // a module transition of this DPU ended
    d.advance(WATCH_INTERVAL);
    d.observe().reply().complete(listening("boot-2"));
    d.advance(WATCH_INTERVAL);
    d.observe().reply().complete(listening("boot-2"));
    d.changes.expectNoMessage(Duration.ofMillis(200));
    d.stop();
  }

  @Test
  void anAnswerAskedForBeforeSomethingPlannedEndedIsNeitherABaselineNorAChange() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, true);
    d.actor.tell(new DpuActor.Watch(true));
    d.advance(WATCH_INTERVAL);
    var asked = d.observe(); // in flight while the module transition ends
    d.actor.tell(new DpuActor.Release(""));
    asked.reply().complete(listening("boot-1"));
    d.advance(WATCH_INTERVAL);
    d.observe().reply().complete(listening("boot-2")); // the first answer asked after the release: the baseline
    d.advance(WATCH_INTERVAL);
    d.observe().reply().complete(listening("boot-2"));
    d.changes.expectNoMessage(Duration.ofMillis(200));
    d.advance(WATCH_INTERVAL);
    d.observe().reply().complete(listening("boot-3"));
    assertEquals("restarted on its own", d.changes.expectMessageClass(DpuActor.Changed.class).what());
    d.stop();
  }

  @Test
  void followsADpuRebootingOnItsOwnUntilItIsBackWithANewBootId() {
    Dpu d = new Dpu(DpuEndpoint.GNOI, false);
    d.actor.tell(new DpuActor.FollowReturn("n1", "boot-1", d.returns.ref()));
    d.observe().reply().complete(listening("boot-1")); // not gone yet
    d.noCallFor(Duration.ofMillis(999));
    d.advance(Duration.ofMillis(1));
    d.observe().reply().complete(listening("boot-2"));
    DpuActor.Returned back = d.returns.expectMessageClass(DpuActor.Returned.class);
    assertEquals("n1", back.noticeId());
    assertEquals("Listening again with a new boot id", back.detail());
    d.noCallFor(Duration.ofSeconds(10)); // back: nothing more to follow
    d.stop();
  }
}
