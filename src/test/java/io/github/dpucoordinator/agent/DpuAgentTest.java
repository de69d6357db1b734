package io.github.dpucoordinator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
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
}
