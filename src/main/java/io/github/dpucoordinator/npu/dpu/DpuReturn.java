package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.npu.dpu.DpuActor.Command;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * A {@link DpuActor} following its DPU, which said it reboots on its own, until it is back: Listening after having
 * been seen down (unreachable or not Listening), or with a boot id other than the one it said it was leaving (or, if it
 * gave none, the first one it answered with). Then it reports {@link DpuActor.Returned} and is idle again; the wait is
 * bounded by whoever asked for it.
 */
final class DpuReturn extends DpuState {

  /** The notice followed and what was seen of it, kept across restarts of the actor. */
  static final class Memory {
    final String noticeId;
    final ActorRef<DpuActor.Returned> replyTo;
    /** The boot id the DPU said it is leaving; else the first one it answers with (null until then). */
    String baseline;
    boolean sawDown;

    Memory(String noticeId, String leavingBootId, ActorRef<DpuActor.Returned> replyTo) {
      this.noticeId = noticeId;
      this.replyTo = replyTo;
      this.baseline = leavingBootId.isEmpty() ? null : leavingBootId;
    }
  }


  private final Memory memory;

  DpuReturn(DpuCore core, Memory memory) {
    super(core);
    this.memory = memory;
    askNow();
  }

  @Override
  String workId() {
    return memory.noticeId;
  }

  @Override
  public Receive<Command> createReceive() {
    return common()
        .onMessage(Poll.class, p -> {
          if (p.gen() == generation) {
            askNow();
          }
          return this;
        })
        .onMessage(Observed.class, this::onObserved)
        .build();
  }

  private Behavior<Command> onObserved(Observed o) {
    if (o.gen() != generation) {
      return this;
    }
    if (o.failure() != null || !o.observation().listening()) {
      memory.sawDown = true;
    } else {
      String bootId = o.observation().bootId() == null ? "" : o.observation().bootId();
      if (memory.baseline == null) {
        memory.baseline = bootId;
      }
      boolean restarted = !bootId.isEmpty() && !bootId.equals(memory.baseline);
      if (memory.sawDown || restarted) {
        memory.replyTo.tell(new DpuActor.Returned(memory.noticeId, core.dpu.id(),
            "Listening again" + (restarted ? " with a new boot id" : " after being seen down")));
        return core.idle();
      }
    }
    core.timers.startSingleTimer(new Poll(generation), core.settings.watchRetry());
    return this;
  }
}
