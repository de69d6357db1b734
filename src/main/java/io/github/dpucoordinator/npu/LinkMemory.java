package io.github.dpucoordinator.npu;

import java.time.Clock;
import java.time.Duration;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * What a link has learned that outlives a restart of its actor, so that a restarted link goes on with the same
 * attempt budget instead of starting it over: attempts used, the acknowledgment and its evidence, whether it was told
 * to stop signalling or to report readiness, whether it has reported its outcome, and when it was restarted.
 */
final class LinkMemory {
  int attempts;
  boolean acknowledged;
  DpuTransport.Evidence evidence;
  boolean signallingStopped;
  boolean readyWanted;
  boolean resolved;
  private boolean started;
  private final java.util.Deque<Long> restarts = new java.util.ArrayDeque<>();
  /** When the halt timeout runs out (0: not armed yet), so a restarted link does not grant it afresh. */
  private long haltDeadline;

  LinkMemory(LinkStart start) {
    attempts = start.attemptsSoFar();
    acknowledged = start.acknowledged();
    evidence = new DpuTransport.Evidence(start.countBefore(), false);
  }

  /** What is left of the halt timeout at {@code now}: all of {@code timeout} when {@code afresh} or not armed yet. */
  Duration haltLeft(long now, Duration timeout, boolean afresh) {
    if (afresh || haltDeadline == 0) {
      haltDeadline = now + timeout.toMillis();
    }
    return Duration.ofMillis(Math.max(0, haltDeadline - now));
  }

  /** The DPU failed its shutdown and is asked again: the next acknowledgment gets the whole halt timeout, as the first did. */
  void signalAgain() {
    acknowledged = false;
    haltDeadline = 0;
  }

  /** A new incarnation of the link starts at {@code now}: how many restarts fall within the last {@code window}. */
  private int restartsWithin(long now, Duration window) {
    if (started) {
      restarts.addLast(now);
      while (restarts.peekFirst() < now - window.toMillis()) {
        restarts.removeFirst();
      }
    }
    started = true;
    return restarts.size();
  }

  /** A link that fails this many times within {@link #RESTART_WINDOW} gives up on its DPU: a fault here must not loop forever. */
  static final int MAX_RESTARTS = 5;
  static final Duration RESTART_WINDOW = Duration.ofMinutes(1);

  /**
   * The link made by {@code link}, restarted with backoff (200 ms doubling to 5 s, as the coordinator) with this memory;
   * the incarnation after {@value #MAX_RESTARTS} restarts within the window reports that it gives up on its DPU instead.
   */
  Behavior<DpuLink.Command> supervised(DpuEndpoint dpu, LinkStart start, ActorRef<Coordinator.Command> coordinator, Clock clock,
      BiFunction<ActorContext<DpuLink.Command>, TimerScheduler<DpuLink.Command>, Behavior<DpuLink.Command>> link) {
    Behavior<DpuLink.Command> incarnation = Behaviors.setup(ctx -> {
      int restarts = restartsWithin(clock.millis(), RESTART_WINDOW);
      if (restarts > MAX_RESTARTS) {
        ctx.getLog().error("[campaign={} dpu={}] the link to this DPU failed {} times within {} s; giving up on it", start.campaignId(),
            dpu.id(), restarts, RESTART_WINDOW.toSeconds());
        coordinator.tell(new Coordinator.FromLink(start.campaignId(), dpu.id(), new LinkReport.GaveUp("the NPU service's link to this "
            + "DPU failed " + restarts + " times within " + RESTART_WINDOW.toSeconds() + " s (a fault in this service; its log has each failure)")));
        return Behaviors.stopped();
      }
      return Behaviors.withTimers(timers -> link.apply(ctx, timers));
    });
    return Behaviors.supervise(incarnation).onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
  }
}
