package io.github.dpucoordinator.agent.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.StepSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DpuAgentTest {
  private final ActorTestKit kit = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  private final ManualTime manualTime = ManualTime.get(kit.system());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private static final AgentSettings BASE = AgentSettings.create(io.github.dpucoordinator.common.AppConfig.load())
      .withId("DPU0").withPort(0).withSimulatedRebootTime(Duration.ofSeconds(3));

  private ActorRef<DpuAgent.Command> agent(List<StepSpec> steps, Optional<Duration> restartAfter) {
    return kit.spawn(DpuAgent.create(BASE.withSteps(steps).withRestartAfter(restartAfter), Clock.systemUTC()));
  }

  private DpuAgent.SignalOutcome signal(ActorRef<DpuAgent.Command> agent, String campaign) {
    return signal(agent, campaign, DpuAgent.Method.SIGNAL, Duration.ZERO);
  }

  private DpuAgent.SignalOutcome signal(ActorRef<DpuAgent.Command> agent, String campaign, DpuAgent.Method method, Duration delay) {
    TestProbe<DpuAgent.SignalOutcome> probe = kit.createTestProbe();
    agent.tell(new DpuAgent.Signal(campaign, method, "cold", "test", 0, delay, probe.ref()));
    return probe.receiveMessage();
  }

  private DpuAgent.SignalOutcome hostReboot(ActorRef<DpuAgent.Command> agent, String campaign, String kind, boolean force) {
    TestProbe<DpuAgent.SignalOutcome> probe = kit.createTestProbe();
    agent.tell(new DpuAgent.Signal(campaign, DpuAgent.Method.SIGNAL, kind, "test", 0, Duration.ZERO, force, probe.ref()));
    return probe.receiveMessage();
  }

  private Holds.Change hold(ActorRef<DpuAgent.Command> agent, String hold, String reason, Duration duration) {
    TestProbe<Holds.Change> probe = kit.createTestProbe();
    agent.tell(new DpuAgent.SetHold(hold, reason, duration.toMillis(), probe.ref()));
    return probe.receiveMessage();
  }

  private ActorRef<DpuAgent.Command> agentWithCleanup() {
    return kit.spawn(DpuAgent.create(BASE.withTenantCleanup(List.of(StepSpec.simulated("evict-tenants", Duration.ofSeconds(1))))
        .withSteps(List.of(StepSpec.simulated("work", Duration.ofSeconds(2)))).withRestartAfter(Optional.empty()), Clock.systemUTC()));
  }

  private static List<String> stepNames(AgentSnapshot s) {
    return s.steps().stream().map(io.github.dpucoordinator.common.StepResult::name).toList();
  }

  private AgentSnapshot state(ActorRef<DpuAgent.Command> agent) {
    TestProbe<AgentSnapshot> probe = kit.createTestProbe();
    agent.tell(new DpuAgent.GetState(-1, Duration.ZERO, probe.ref()));
    return probe.receiveMessage();
  }

  @Test
  void walksTheSeedStateMachineAndReportsCompletionThroughALongPoll() {
    ActorRef<DpuAgent.Command> agent = agent(List.of(StepSpec.simulated("work", Duration.ofSeconds(2))), Optional.of(Duration.ofSeconds(1)));
    AgentSnapshot before = state(agent);
    assertEquals(AgentState.LISTENING, before.state());

    DpuAgent.SignalOutcome started = signal(agent, "c1");
    assertEquals(Disposition.STARTED, started.disposition());
    assertEquals(AgentState.SHUTDOWN, started.state());
    assertTrue(started.ack().startsWith("ACK STARTED"), started.ack());

    TestProbe<AgentSnapshot> poll = kit.createTestProbe();
    agent.tell(new DpuAgent.GetState(started.version(), Duration.ofSeconds(10), poll.ref()));
    manualTime.expectNoMessageFor(Duration.ofMillis(1999), poll);
    manualTime.timePasses(Duration.ofMillis(1));
    AgentSnapshot done = poll.receiveMessage();
    // ShutdownComplete notifies (the completed campaign) and goes on to WaitForRestart in one step
    assertEquals(AgentState.WAIT_FOR_RESTART, done.state());
    assertEquals(List.of("c1"), done.completedCampaigns());
    assertFalse(done.degraded());
    assertEquals(started.version() + 2, done.version(), "Shutdown -> ShutdownComplete -> WaitForRestart");
    manualTime.timePasses(Duration.ofSeconds(1));
    AgentSnapshot restarted = state(agent);
    assertEquals(AgentState.LISTENING, restarted.state());
    assertNotEquals(before.bootId(), restarted.bootId());
  }

  @Test
  void theSameCampaignDeliveredTwiceRunsTheShutdownOnce() {
    ActorRef<DpuAgent.Command> agent = agent(List.of(StepSpec.simulated("work", Duration.ofSeconds(1))), Optional.of(Duration.ZERO));
    assertEquals(Disposition.STARTED, signal(agent, "c1").disposition());
    assertEquals(Disposition.IN_PROGRESS, signal(agent, "c1").disposition());
    manualTime.timePasses(Duration.ofSeconds(1));
    manualTime.timePasses(Duration.ZERO);
    assertEquals(AgentState.LISTENING, state(agent).state(), "simulated restart brought it back");
    DpuAgent.SignalOutcome again = signal(agent, "c1");
    assertEquals(Disposition.ALREADY_COMPLETE, again.disposition());
    assertEquals(1, state(agent).shutdownRuns());
  }

  @Test
  void aSignalForAnotherCampaignDuringAShutdownJoinsIt() {
    ActorRef<DpuAgent.Command> agent = agent(List.of(StepSpec.simulated("work", Duration.ofSeconds(1))), Optional.empty());
    signal(agent, "c1");
    DpuAgent.SignalOutcome joined = signal(agent, "c2");
    assertEquals(Disposition.IN_PROGRESS, joined.disposition());
    assertEquals("c1", joined.campaignId());
    manualTime.timePasses(Duration.ofSeconds(1));
    AgentSnapshot s = state(agent);
    assertEquals(List.of("c1", "c2"), s.completedCampaigns());
    assertEquals(1, s.shutdownRuns());
    // without a configured restart it stays down; a new campaign is complete at once
    assertEquals(AgentState.WAIT_FOR_RESTART, s.state());
    assertEquals(Disposition.ALREADY_COMPLETE, signal(agent, "c3").disposition());
  }

  @Test
  void aFailingOrHangingStepIsReportedAndTheShutdownStillCompletes() {
    ActorRef<DpuAgent.Command> agent = agent(List.of(
        StepSpec.command("fails", "echo disk busy >&2; exit 3", Duration.ofSeconds(10)),
        StepSpec.command("hangs", "sleep 30", Duration.ofMillis(300)),
        StepSpec.command("works", "true", Duration.ofSeconds(10))), Optional.empty());
    DpuAgent.SignalOutcome started = signal(agent, "c1");
    TestProbe<AgentSnapshot> poll = kit.createTestProbe();
    agent.tell(new DpuAgent.GetState(started.version(), Duration.ofSeconds(60), poll.ref()));
    AgentSnapshot done = poll.receiveMessage(Duration.ofSeconds(20));
    assertEquals(AgentState.WAIT_FOR_RESTART, done.state());
    assertEquals(List.of("c1"), done.completedCampaigns());
    assertTrue(done.degraded());
    assertEquals(3, done.steps().size());
    assertEquals("exit 3: disk busy", done.steps().get(0).detail());
    assertTrue(done.steps().get(1).detail().startsWith("timed out after 300 ms"), done.steps().get(1).detail());
    assertTrue(done.steps().get(2).ok());
  }

  @Test
  void aLongPollOnAnUnchangedStateAnswersWhenItsWaitEnds() {
    ActorRef<DpuAgent.Command> agent = agent(List.of(), Optional.empty());
    AgentSnapshot now = state(agent);
    TestProbe<AgentSnapshot> poll = kit.createTestProbe();
    agent.tell(new DpuAgent.GetState(now.version(), Duration.ofSeconds(5), poll.ref()));
    manualTime.expectNoMessageFor(Duration.ofMillis(4999), poll);
    manualTime.timePasses(Duration.ofMillis(1));
    assertEquals(now.version(), poll.receiveMessage().version());
    // a stale version is answered at once
    agent.tell(new DpuAgent.GetState(now.version() - 1, Duration.ofSeconds(5), poll.ref()));
    assertEquals(AgentState.LISTENING, poll.receiveMessage().state());
  }

  @Test
  void aWarmHostRebootRunsOnlyTheTenantCleanupAndStaysListening() {
    ActorRef<DpuAgent.Command> agent = agentWithCleanup();
    String bootId = state(agent).bootId();
    DpuAgent.SignalOutcome started = hostReboot(agent, "w1", "warm", false);
    assertEquals(Disposition.STARTED, started.disposition());

    TestProbe<AgentSnapshot> poll = kit.createTestProbe();
    agent.tell(new DpuAgent.GetState(started.version(), Duration.ofSeconds(10), poll.ref()));
    manualTime.expectNoMessageFor(Duration.ofMillis(999), poll);
    manualTime.timePasses(Duration.ofMillis(1));
    AgentSnapshot done = poll.receiveMessage();
    assertEquals(AgentState.LISTENING, done.state(), "the DPU keeps running through a warm NPU reboot");
    assertEquals(List.of("w1"), done.completedCampaigns());
    assertEquals(List.of("tenant-cleanup:evict-tenants"), stepNames(done), "no shutdown step ran");
    assertEquals(bootId, done.bootId(), "no restart");
    assertFalse(done.safeToPowerOff());
    assertEquals(Disposition.ALREADY_COMPLETE, hostReboot(agent, "w1", "warm", false).disposition(), "redelivery runs nothing");
  }

  @Test
  void aColdHostRebootRunsTheTenantCleanupThenTheShutdownSteps() {
    ActorRef<DpuAgent.Command> agent = agentWithCleanup();
    hostReboot(agent, "c1", "cold", false);
    manualTime.timePasses(Duration.ofSeconds(1));
    AgentSnapshot cleaned = state(agent);
    assertEquals(AgentState.SHUTDOWN, cleaned.state());
    assertEquals(List.of("tenant-cleanup:evict-tenants"), stepNames(cleaned));
    manualTime.timePasses(Duration.ofSeconds(2));
    AgentSnapshot done = state(agent);
    assertEquals(AgentState.WAIT_FOR_RESTART, done.state());
    assertEquals(List.of("tenant-cleanup:evict-tenants", "work"), stepNames(done));
    assertEquals(List.of("c1"), done.completedCampaigns());
    assertTrue(done.safeToPowerOff());
  }

  @Test
  void aDeferringDpuAnswersHostRebootsDeferredUnlessForcedAndTheDeferralEnds() {
    ActorRef<DpuAgent.Command> agent = agentWithCleanup();
    assertFalse(hold(agent, "sideways", "", Duration.ZERO).accepted(), "unknown hold");
    assertFalse(hold(agent, "defer", "batch job", Duration.ZERO).accepted(), "defer needs a duration");
    Holds.Change capped = hold(agent, "defer", "batch job", Duration.ofHours(2));
    assertTrue(capped.message().contains("capped by dpu-coordinator.agent.max-defer"), capped.message());
    long before = System.currentTimeMillis();
    Holds.Change deferred = hold(agent, "defer", "batch job", Duration.ofMinutes(10));
    assertTrue(deferred.accepted(), deferred.message());

    DpuAgent.SignalOutcome answer = hostReboot(agent, "c1", "cold", false);
    assertEquals(Disposition.DEFERRED, answer.disposition());
    assertEquals("batch job", answer.detail());
    assertTrue(answer.deferUntilMillis() >= before + 600_000 && answer.deferUntilMillis() <= System.currentTimeMillis() + 600_000);
    AgentSnapshot s = state(agent);
    assertEquals(AgentState.LISTENING, s.state());
    assertEquals(0, s.shutdownRuns(), "nothing started");

    assertEquals(Disposition.STARTED, hostReboot(agent, "c2", "cold", true).disposition(), "force ignores the deferral");

    ActorRef<DpuAgent.Command> other = agentWithCleanup();
    hold(other, "defer", "batch job", Duration.ofMinutes(10));
    manualTime.timePasses(Duration.ofMinutes(10));
    assertEquals(0, state(other).holds().deferUntil(), "the deferral ended");
    assertEquals(Disposition.STARTED, hostReboot(other, "c3", "cold", false).disposition());
  }

  @Test
  void aProtectiveStateRefusesRebootsAndHoldsAShutdownAlreadyRunningAfterTheCleanupUntilItIsCleared() {
    ActorRef<DpuAgent.Command> agent = agentWithCleanup();
    assertTrue(hold(agent, "firmware-update", "flashing NIC", Duration.ZERO).accepted());
    DpuAgent.SignalOutcome refused = hostReboot(agent, "c0", "cold", true);
    assertEquals(Disposition.REFUSED, refused.disposition(), "nothing starts during a firmware update, even forced");
    assertEquals("firmware-update", refused.protective());
    assertEquals("flashing NIC", refused.protectiveReason());
    assertEquals(0, state(agent).shutdownRuns());
    hold(agent, "clear", "", Duration.ZERO);

    assertEquals(Disposition.STARTED, hostReboot(agent, "c1", "cold", false).disposition());
    long v0 = state(agent).version();
    TestProbe<AgentSnapshot> poll = kit.createTestProbe();
    agent.tell(new DpuAgent.GetState(v0, Duration.ofSeconds(30), poll.ref()));
    assertTrue(hold(agent, "firmware-update", "flashing NIC", Duration.ZERO).accepted(), "set while the cleanup runs");
    AgentSnapshot protectedState = poll.receiveMessage();
    assertTrue(protectedState.version() > v0, "a hold change answers held long polls");
    assertEquals("firmware-update", protectedState.holds().protective());
    manualTime.timePasses(Duration.ofSeconds(1));
    manualTime.timePasses(Duration.ofSeconds(30));
    AgentSnapshot held = state(agent);
    assertEquals(AgentState.SHUTDOWN, held.state(), "the shutdown waits for the protective state");
    assertEquals(List.of("tenant-cleanup:evict-tenants"), stepNames(held), "the cleanup ran");
    assertFalse(held.safeToPowerOff());

    assertEquals(Disposition.REFUSED, signal(agent, "c2").disposition(), "still protective: refused, asked again later");

    hold(agent, "clear", "", Duration.ZERO);
    assertEquals(Disposition.IN_PROGRESS, signal(agent, "c2").disposition(), "another host reboot joins the shutdown");
    manualTime.timePasses(Duration.ofSeconds(2));
    AgentSnapshot done = state(agent);
    assertEquals(AgentState.WAIT_FOR_RESTART, done.state());
    assertEquals(List.of("tenant-cleanup:evict-tenants", "work"), stepNames(done));
    assertEquals(List.of("c1", "c2"), done.completedCampaigns());
    assertTrue(done.safeToPowerOff());

    hold(agent, "crash-dump", "kdump", Duration.ZERO);
    assertFalse(state(agent).safeToPowerOff(), "shut down, but a crash dump is being written");
  }

  @Test
  void aProtectiveStateWithADurationEndsByItselfAndTheHeldShutdownResumes() {
    ActorRef<DpuAgent.Command> agent = agentWithCleanup();
    hostReboot(agent, "c1", "power-off", false);
    hold(agent, "crash-dump", "kdump", Duration.ofSeconds(5));
    manualTime.timePasses(Duration.ofSeconds(1));
    assertEquals(AgentState.SHUTDOWN, state(agent).state());
    manualTime.timePasses(Duration.ofSeconds(4));
    assertEquals("", state(agent).holds().protective(), "expired");
    manualTime.timePasses(Duration.ofSeconds(2));
    assertEquals(AgentState.WAIT_FOR_RESTART, state(agent).state());
  }

  @Test
  void aGnoiRebootIsRefusedWhileProtectiveButNotDeferred() {
    ActorRef<DpuAgent.Command> agent = agentWithCleanup();
    hold(agent, "defer", "batch job", Duration.ofMinutes(10));
    hold(agent, "firmware-update", "flashing NIC", Duration.ZERO);
    TestProbe<DpuAgent.SignalOutcome> probe = kit.createTestProbe();
    agent.tell(new DpuAgent.Signal("", DpuAgent.Method.HALT, DpuAgent.Signal.GNOI, "maintenance", 0, Duration.ZERO, probe.ref()));
    DpuAgent.SignalOutcome refused = probe.receiveMessage();
    assertEquals(Disposition.REFUSED, refused.disposition());
    assertEquals("protective state firmware-update: flashing NIC", refused.detail());
    assertEquals(0, state(agent).shutdownRuns());

    hold(agent, "firmware-update", "", Duration.ofMillis(1));
    manualTime.timePasses(Duration.ofMillis(1));
    agent.tell(new DpuAgent.Signal("", DpuAgent.Method.HALT, DpuAgent.Signal.GNOI, "maintenance", 0, Duration.ZERO, probe.ref()));
    assertEquals(Disposition.STARTED, probe.receiveMessage().disposition(), "gNOI has no deferral");
  }

  @Test
  void aHoldSetAfterACampaignIsLoggedWithoutThatCampaignsId() {
    ActorRef<DpuAgent.Command> agent = agent(List.of(), Optional.of(Duration.ZERO));
    signal(agent, "c-long-over");
    kit.createTestProbe().awaitAssert(() -> {
      manualTime.timePasses(Duration.ofMillis(10));
      org.junit.jupiter.api.Assertions.assertEquals(AgentState.LISTENING, state(agent).state());
      return null;
    });
    org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit.warn("[campaign=none dpu=DPU0] hold 'nap' refused")
        .expect(kit.system(), () -> hold(agent, "nap", "tenant maintenance", Duration.ofMinutes(5)));
  }

  /** A clock that fails once when told to: a fault inside the agent's actor, which its supervisor restarts. */
  private static final class BreakableClock extends Clock {
    volatile boolean failNext;

    @Override
    public long millis() {
      if (failNext) {
        failNext = false;
        throw new IllegalStateException("clock broke (test)");
      }
      return System.currentTimeMillis();
    }

    @Override
    public java.time.Instant instant() {
      return java.time.Instant.ofEpochMilli(millis());
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @Test
  void aSupervisedRestartOfTheActorIsNotARebootOfTheDpu() {
    BreakableClock clock = new BreakableClock();
    ActorRef<DpuAgent.Command> agent = kit.spawn(org.apache.pekko.actor.typed.javadsl.Behaviors.supervise(
            DpuAgent.create(BASE.withSteps(List.of(StepSpec.simulated("work", Duration.ofSeconds(1)))).withRestartAfter(Optional.of(Duration.ZERO)),
                clock))
        .onFailure(org.apache.pekko.actor.typed.SupervisorStrategy.restart()));
    assertEquals(Disposition.STARTED, signal(agent, "c1").disposition());
    manualTime.timePasses(Duration.ofSeconds(1));
    manualTime.timePasses(Duration.ZERO);
    AgentSnapshot before = state(agent);
    assertEquals(List.of("c1"), before.completedCampaigns());

    clock.failNext = true;
    TestProbe<Holds.Change> noAnswer = kit.createTestProbe();
    agent.tell(new DpuAgent.SetHold("firmware-update", "test", 60_000, noAnswer.ref())); // the actor fails on it and is restarted

    AgentSnapshot after = state(agent);
    assertFalse(clock.failNext, "the fault happened");
    assertEquals("", after.holds().protective(), "the hold whose handling failed was not applied: the actor restarted");
    assertEquals(before.bootId(), after.bootId(), "the same boot: the NPU must not see a reboot that never happened");
    assertEquals(before.shutdownRuns(), after.shutdownRuns(), "gNOI's reboot count is not reset");
    assertEquals(List.of("c1"), after.completedCampaigns());
    assertEquals(Disposition.ALREADY_COMPLETE, signal(agent, "c1").disposition(), "a redelivered signal still runs nothing");
  }
}
