package io.github.dpucoordinator.npu;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.npu.DpuTransport.Observation;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Asks every DPU for its state at an interval and tells the coordinator when one changed on its own
 * terms: it went away (unreachable {@code goneAfter} times in a row), came back, or restarted (a new
 * boot id). The coordinator decides whether that was planned; this actor only notices. It keeps nothing
 * durable: after a restart the first answer of each DPU is its new baseline.
 */
final class FleetWatcher {
  private FleetWatcher() {}

  sealed interface Command {}

  private enum Tick implements Command { INSTANCE }

  /**
   * A campaign is in flight: stop asking (its links watch the DPUs, and their comings and goings are
   * planned). {@link #RESUME} starts afresh: what the DPUs look like afterwards is the new baseline.
   */
  enum Pause implements Command { PAUSE, RESUME }

  /** Something planned for this DPU just ended: what it looks like next is its new baseline, not a change. */
  record Settled(String dpuId) implements Command {}

  private record Observed(String dpuId, Observation observation, Throwable failure) implements Command {}

  /** What one DPU looked like last: reachable or not (null: not known yet), its boot id, failed asks in a row. */
  private static final class Seen {
    Boolean reachable;
    String bootId = "";
    int failures;
  }

  static Behavior<Command> create(List<DpuEndpoint> dpus, DpuTransport transport, Duration interval, Duration callTimeout, int goneAfter,
      ActorRef<Coordinator.Command> coordinator) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, interval);
      Map<String, Seen> seen = new HashMap<>();
      Set<String> asking = new HashSet<>();
      boolean[] paused = {false};
      return Behaviors.receive(Command.class)
          .onMessageEquals(Pause.PAUSE, () -> {
            paused[0] = true;
            return Behaviors.same();
          })
          .onMessageEquals(Pause.RESUME, () -> {
            paused[0] = false;
            seen.clear();
            return Behaviors.same();
          })
          .onMessage(Settled.class, m -> {
            seen.remove(m.dpuId());
            return Behaviors.same();
          })
          .onMessageEquals(Tick.INSTANCE, () -> {
            for (DpuEndpoint d : paused[0] ? List.<DpuEndpoint>of() : dpus) {
              if (asking.add(d.id())) {
                ctx.pipeToSelf(transport.observe(d, "", -1, Duration.ZERO, callTimeout), (o, f) -> new Observed(d.id(), o, f));
              }
            }
            return Behaviors.same();
          })
          .onMessage(Observed.class, o -> {
            asking.remove(o.dpuId());
            if (paused[0]) {
              return Behaviors.same();
            }
            Seen s = seen.computeIfAbsent(o.dpuId(), k -> new Seen());
            String change = change(s, o, goneAfter);
            if (change != null) {
              coordinator.tell(new Coordinator.WatchReport(o.dpuId(), change, o.failure() != null
                  ? "unreachable " + s.failures + " time(s) in a row: " + Failures.describe(o.failure())
                  : "state " + o.observation().state() + (s.bootId.isEmpty() ? "" : ", boot id " + s.bootId)));
            }
            return Behaviors.same();
          })
          .build();
    }));
  }

  /** Updates what is known of one DPU; returns "went away", "came back", "restarted on its own" or null. */
  private static String change(Seen s, Observed o, int goneAfter) {
    if (o.failure() != null) {
      s.failures++;
      if (s.failures >= goneAfter && !Boolean.FALSE.equals(s.reachable)) {
        boolean known = s.reachable != null;
        s.reachable = false;
        return known ? "went away" : null;
      }
      return null;
    }
    s.failures = 0;
    String bootId = o.observation().bootId() == null ? "" : o.observation().bootId();
    String change = null;
    if (Boolean.FALSE.equals(s.reachable)) {
      change = "came back";
    } else if (Boolean.TRUE.equals(s.reachable) && !s.bootId.isEmpty() && !bootId.isEmpty() && !bootId.equals(s.bootId)) {
      change = "restarted on its own";
    }
    s.reachable = true;
    s.bootId = bootId;
    return change;
  }
}
