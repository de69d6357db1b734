package io.github.dpucoordinator.offloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.offloader.OffloadedContainerProtocol.Reply;
import io.github.dpucoordinator.offloader.OffloadedContainerProtocol.View;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One offloaded container's actor against the real NPU Containerz of {@link OffloaderHarness}, its journal in memory:
 * what its status shows after an operation, and what a health check that an operation overtook is worth.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class OffloadedContainerTest {
  @TempDir
  static Path dir;
  private OffloaderHarness h;
  private ActorTestKit kit;

  /** The real NPU client, but the answer to the one call of a kind asked after {@link #holdNext} waits until {@link #release}. */
  private static final class HeldNpu extends NpuContainerz {
    private String armedFor;
    private CompletableFuture<Void> armed;
    private Runnable release;

    HeldNpu(org.apache.pekko.actor.typed.ActorSystem<?> system, OffloaderSettings settings) {
      super(system, settings);
    }

    /** Completes once a call of {@code kind} ("seen", "start" or "stop") is held: it was made, and its answer is kept, not given. */
    synchronized CompletableFuture<Void> holdNext(String kind) {
      armedFor = kind;
      armed = new CompletableFuture<>();
      return armed;
    }

    /** Gives the held call its answer now (in this thread: the actor has it in its mailbox when this returns). */
    void release() {
      release.run();
    }

    private <T> CompletionStage<T> held(String kind, java.util.function.Supplier<CompletionStage<T>> call) {
      synchronized (this) {
        if (kind.equals(armedFor)) {
          armedFor = null;
          CompletableFuture<T> answer = call.get().toCompletableFuture();
          CompletableFuture<T> given = new CompletableFuture<>();
          release = () -> given.complete(answer.join());
          answer.whenComplete((v, f) -> armed.complete(null));
          return given;
        }
      }
      return call.get();
    }

    @Override
    CompletionStage<Seen> seen(String name) {
      return held("seen", () -> super.seen(name));
    }

    @Override
    CompletionStage<String> start(ContainerDef def, String tag) {
      return held("start", () -> super.start(def, tag));
    }

    @Override
    CompletionStage<Void> stop(String name, boolean force) {
      return held("stop", () -> super.stop(name, force));
    }
  }

  @BeforeAll
  void start() throws Exception {
    h = new OffloaderHarness(dir);
    h.image("offload/kv", "1", OffloaderHarness.SERVICE);
    h.image("offload/kv", "2", OffloaderHarness.SERVICE);
    kit = ActorTestKit.create("container", EventSourcedBehaviorTestKit.config().withFallback(io.github.dpucoordinator.common.AppConfig.load()));
  }

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
    h.close();
  }

  /** Checked every 2 s: the check after a start or stop, given one interval, has time to answer on a loaded runner. */
  private OffloaderSettings settings(String name) {
    return OffloaderSettings.of(h.config(dir.resolve(name), "[{name = " + name + ", image = \"offload/kv\"}]",
        Map.of("health.interval", "2s", "upgrade.min-healthy", "2s", "upgrade.deadline", "20s")));
  }

  /** A container {@code name} (offload/kv, version match-dpu) started at 1 by the initialization. */
  private ActorRef<OffloadedContainerProtocol.Command> started(String name, NpuContainerz npu, OffloaderSettings settings) {
    ActorRef<OffloadedContainerProtocol.Command> c = kit.spawn(OffloadedContainer.create(name, settings, npu, Clock.systemUTC()), name);
    c.tell(new OffloadedContainerProtocol.Define(settings.containers().get(0)));
    String line = this.<String>sent(c, r -> new OffloadedContainerProtocol.Ensure("1", r)).receiveMessage(Duration.ofSeconds(30));
    assertTrue(line.contains("started offload/kv:1"), line);
    return c;
  }

  /** {@code request} sent to {@code c}; the probe that hears its answer. */
  private <T> TestProbe<T> sent(ActorRef<OffloadedContainerProtocol.Command> c,
      java.util.function.Function<ActorRef<T>, OffloadedContainerProtocol.Command> request) {
    TestProbe<T> probe = kit.createTestProbe();
    c.tell(request.apply(probe.getRef()));
    return probe;
  }

  /** An operator's stop of {@code c}, answered. */
  private Reply operatorStop(ActorRef<OffloadedContainerProtocol.Command> c) {
    return sent(c, OffloadedContainerProtocol.OperatorStop::new).receiveMessage(Duration.ofSeconds(30));
  }

  private static void assertNoFailure(View v) {
    assertTrue(v.book().history().stream().noneMatch(e -> e.kind().equals("failed")), v.book().history().toString());
  }

  private View view(ActorRef<OffloadedContainerProtocol.Command> c) {
    return sent(c, OffloadedContainerProtocol.Get::new).receiveMessage(Duration.ofSeconds(10));
  }

  @Test
  void afterAnUpgradeTheStatusShowsWhatItsHealthWaitSawNotAnEarlierCheck() throws Exception {
    OffloaderSettings settings = settings("up");
    try (NpuContainerz npu = new NpuContainerz(kit.system(), settings)) {
      ActorRef<OffloadedContainerProtocol.Command> c = started("up", npu, settings);
      h.await(Duration.ofSeconds(30), () -> assertEquals(new NpuContainerz.Seen("RUNNING", "offload/kv:1"), view(c).seen()));
      assertEquals("upgraded", this.<OffloadedContainerProtocol.SyncOutcome>sent(c, r -> new OffloadedContainerProtocol.Sync("2", r))
          .receiveMessage(Duration.ofSeconds(30)).result());
      // asked at once: the monitor's own checks stopped during the upgrade; what shows is the upgrade's last check
      View v = view(c);
      assertEquals(new NpuContainerz.Seen("RUNNING", "offload/kv:2"), v.seen());
      assertEquals("healthy", v.health());
    }
  }

  /** A start or stop takes a few Containerz calls: an operator's request then is done after it, not refused. */
  @Test
  void anOperatorsStopSentDuringAStartIsDoneAfterIt() throws Exception {
    OffloaderSettings settings = settings("queued");
    try (HeldNpu npu = new HeldNpu(kit.system(), settings)) {
      ActorRef<OffloadedContainerProtocol.Command> c = started("queued", npu, settings);
      assertTrue(operatorStop(c).ok());
      // an operator's start, held at its StartContainer's answer; a stop meanwhile
      CompletableFuture<Void> held = npu.holdNext("start");
      TestProbe<Reply> start = sent(c, OffloadedContainerProtocol.OperatorStart::new);
      held.get(30, TimeUnit.SECONDS);
      TestProbe<Reply> stop = sent(c, OffloadedContainerProtocol.OperatorStop::new);
      assertEquals("starting", view(c).detail().split(";")[0]); // asked after the stop: the stop came while the start ran
      npu.release();
      Reply started = start.receiveMessage(Duration.ofSeconds(30));
      assertTrue(started.ok(), started.message());
      Reply stopped = stop.receiveMessage(Duration.ofSeconds(30));
      assertTrue(stopped.ok() && stopped.message().contains("stays stopped"), stopped.message());
      assertEquals("STOPPED offload/kv:1", h.onNpu("queued"));
      assertTrue(view(c).book().operatorStopped());
    }
  }

  /** ... but not after the stop for a DPU halt, which a start would undo while the DPU goes down: refused then. */
  @Test
  void anOperatorsStartSentDuringTheStopForADpuHaltIsRefused() throws Exception {
    OffloaderSettings settings = settings("halting");
    try (HeldNpu npu = new HeldNpu(kit.system(), settings)) {
      ActorRef<OffloadedContainerProtocol.Command> c = started("halting", npu, settings);
      CompletableFuture<Void> held = npu.holdNext("stop");
      TestProbe<Reply> halt = sent(c, OffloadedContainerProtocol.HaltStop::new);
      held.get(30, TimeUnit.SECONDS);
      Reply refused = sent(c, OffloadedContainerProtocol.OperatorStart::new).receiveMessage(Duration.ofSeconds(30));
      assertTrue(!refused.ok() && refused.message().contains("is stopping for the DPU halt; try again"), refused.message());
      npu.release();
      assertTrue(halt.receiveMessage(Duration.ofSeconds(30)).ok());
      assertEquals("STOPPED offload/kv:1", h.onNpu("halting"));
      assertTrue(view(c).book().haltStopped());
    }
  }

  @Test
  void aHealthCheckBegunBeforeAnOperatorsStartIsNotTakenForACrashAfterIt() throws Exception {
    OffloaderSettings settings = settings("held");
    try (HeldNpu npu = new HeldNpu(kit.system(), settings)) {
      ActorRef<OffloadedContainerProtocol.Command> c = started("held", npu, settings);
      assertTrue(operatorStop(c).ok());
      // what the stop's own check saw shows as soon as it has answered
      assertEquals(List.of("STOPPED", "stopped"), List.of(view(c).seen().status(), view(c).health()));
      // the monitor's next check finds it stopped; its answer is held while an operator starts it again
      npu.holdNext("seen").get(30, TimeUnit.SECONDS);
      Reply start = sent(c, OffloadedContainerProtocol.OperatorStart::new).receiveMessage(Duration.ofSeconds(30));
      assertTrue(start.ok(), start.message());
      assertEquals("RUNNING offload/kv:1", h.onNpu("held"));
      View started = view(c);
      assertEquals(List.of(new NpuContainerz.Seen("RUNNING", "offload/kv:1"), "healthy"), List.of(started.seen(), started.health()));
      npu.release();
      assertNoFailure(view(c));
      // a check begun after the start has been made (the held answer came before it) and took nothing for a crash either
      h.await(Duration.ofSeconds(30), () -> assertEquals("RUNNING offload/kv:1", view(c).detail()));
      View later = view(c);
      assertNoFailure(later);
      assertEquals(List.of("healthy", 0), List.of(later.health(), later.restartsInWindow()));
      assertEquals("RUNNING offload/kv:1", h.onNpu("held"));
    }
  }
}
