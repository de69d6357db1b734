package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.npu.dpu.DpuActor.Command;
import io.github.dpucoordinator.npu.settings.NegotiationSettings;
import io.github.dpucoordinator.npu.transport.DpuTransport.Observation;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * A {@link DpuActor} with no work. While told to watch (outside campaigns, with {@code watch.enabled}) it asks its DPU
 * for its state every {@code watch.interval} and reports a change on the DPU's own terms: it went away (unreachable
 * {@code watch.gone-after} times in a row), came back, or restarted (a new boot id). Whoever hears it decides whether
 * that was planned; this state only notices. The first answer after a baseline is reset is the new baseline.
 */
final class DpuIdle extends DpuState {

  /** What the DPU looked like last: reachable or not (null: not known yet), its boot id, failed asks in a row. */
  static final class Seen {
    Boolean reachable;
    String bootId = "";
    int failures;
  }


  private static final String TICK = "watch";
  private boolean asking;
  /** The question in flight was asked before the baseline was reset: its answer says nothing about what is new. */
  private boolean askedBeforeReset;

  DpuIdle(DpuCore core) {
    super(core);
    arm();
  }

  @Override
  String workId() {
    return "";
  }

  @Override
  public Receive<Command> createReceive() {
    return common()
        .onMessage(Poll.class, t -> {
          if (t.gen() == generation && core.memory.watching && !asking) {
            asking = true;
            askNow();
          }
          return this;
        })
        .onMessage(Observed.class, this::onObserved)
        .build();
  }

  /** Something planned for this DPU just ended: what it looks like next is its new baseline, not a change. */
  @Override
  Behavior<Command> onRelease(DpuActor.Release r) {
    resetBaseline();
    return this;
  }

  /** Watching again starts afresh: what the DPU looks like now is the new baseline. */
  @Override
  Behavior<Command> onWatch(DpuActor.Watch w) {
    if (w.on() && !core.memory.watching) {
      resetBaseline();
    }
    core.memory.watching = w.on();
    arm();
    return this;
  }

  private void resetBaseline() {
    core.memory.seen = new Seen();
    askedBeforeReset = asking;
  }

  private void arm() {
    NegotiationSettings n = core.settings.negotiation();
    if (core.memory.watching && n.watchEnabled()) {
      if (!core.timers.isTimerActive(TICK)) {
        core.timers.startTimerWithFixedDelay(TICK, new Poll(generation), n.watchInterval());
      }
    } else {
      core.timers.cancel(TICK);
    }
  }

  private Behavior<Command> onObserved(Observed o) {
    if (o.gen() != generation) {
      return this;
    }
    asking = false;
    if (askedBeforeReset) {
      askedBeforeReset = false;
      return this;
    }
    if (!core.memory.watching) {
      return this;
    }
    Seen s = core.memory.seen;
    String change = change(s, o.observation(), o.failure(), core.settings.negotiation().watchGoneAfter());
    if (change != null) {
      core.changes.tell(new DpuActor.Changed(core.dpu.id(), change, o.failure() != null
          ? "unreachable " + s.failures + " time(s) in a row: " + Failures.describe(o.failure())
          : "state " + o.observation().state() + (s.bootId.isEmpty() ? "" : ", boot id " + s.bootId)));
    }
    return this;
  }

  /** Updates what is known of the DPU; returns "went away", "came back", "restarted on its own" or null. */
  private static String change(Seen s, Observation o, Throwable failure, int goneAfter) {
    if (failure != null) {
      s.failures++;
      if (s.failures >= goneAfter && !Boolean.FALSE.equals(s.reachable)) {
        boolean known = s.reachable != null;
        s.reachable = false;
        return known ? "went away" : null;
      }
      return null;
    }
    s.failures = 0;
    String bootId = o.bootId() == null ? "" : o.bootId();
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
