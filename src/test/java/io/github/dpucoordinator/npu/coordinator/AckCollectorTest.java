package io.github.dpucoordinator.npu.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.dpucoordinator.common.TestClock;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import java.time.Duration;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The acknowledgment collector alone, on ManualTime: all in, the deadline, a deadline moved later. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AckCollectorTest {
  private final ActorTestKit kit = CoordinatorFixture.testKit();
  private final ManualTime manualTime = ManualTime.get(kit.system());
  private final TestClock clock = new TestClock();

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private void advance(Duration d) {
    clock.advance(d);
    manualTime.timePasses(d);
  }

  @Test
  void itSaysAllInOnceNoDpuIsUnresolvedAndNothingBefore() {
    TestProbe<Command> entity = kit.createTestProbe();
    long deadline = clock.millis() + 30_000;
    ActorRef<AckCollector.Msg> c = kit.spawn(AckCollector.create("c1", new AckCollector.Progress(Set.of("DPU0", "DPU1"), deadline), clock,
        entity.ref()));
    advance(Duration.ofSeconds(10));
    c.tell(new AckCollector.Progress(Set.of("DPU1"), deadline));
    manualTime.expectNoMessageFor(Duration.ofSeconds(5), entity);
    clock.advance(Duration.ofSeconds(5));
    c.tell(new AckCollector.Progress(Set.of(), deadline));
    assertEquals(new AckCollector.AllIn("c1"), entity.receiveMessage());
    advance(Duration.ofSeconds(30));
    entity.expectNoMessage(Duration.ofMillis(50)); // the deadline timer went with the last DPU
  }

  @Test
  void atTheDeadlineItSaysSoAndALaterDeadlineArmsItAgain() {
    TestProbe<Command> entity = kit.createTestProbe();
    long deadline = clock.millis() + 30_000;
    ActorRef<AckCollector.Msg> c = kit.spawn(AckCollector.create("c2", new AckCollector.Progress(Set.of("DPU0"), deadline), clock,
        entity.ref()));
    manualTime.expectNoMessageFor(Duration.ofSeconds(29), entity);
    clock.advance(Duration.ofSeconds(29));
    advance(Duration.ofSeconds(1));
    assertEquals(new AckDeadlines.Reached("c2"), entity.receiveMessage());
    // the entity holds the campaign for a DPU in a protective state: 10 min more
    c.tell(new AckCollector.Progress(Set.of("DPU0"), clock.millis() + 600_000));
    manualTime.expectNoMessageFor(Duration.ofSeconds(599), entity);
    clock.advance(Duration.ofSeconds(599));
    advance(Duration.ofSeconds(1));
    assertEquals(new AckDeadlines.Reached("c2"), entity.receiveMessage());
  }

  @Test
  void aCampaignRecoveredWithEveryDpuResolvedIsAllInAtOnce() {
    TestProbe<Command> entity = kit.createTestProbe();
    kit.spawn(AckCollector.create("c3", new AckCollector.Progress(Set.of(), clock.millis() + 30_000), clock, entity.ref()));
    assertEquals(new AckCollector.AllIn("c3"), entity.receiveMessage());
  }
}
