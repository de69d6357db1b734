package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.npu.dpu.DpuActor.Command;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Clock;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/** What every state of one {@link DpuActor} shares, and the moves between its states. */
final class DpuCore {
  final ActorContext<Command> ctx;
  final TimerScheduler<Command> timers;
  /** The DPU as configured (work brings the endpoint its owner journaled). */
  final DpuEndpoint dpu;
  final DpuTransport transport;
  final NpuSettings settings;
  final Random random;
  final Clock clock;
  final ActorRef<DpuActor.Changed> changes;
  final DpuMemory memory;

  DpuCore(ActorContext<Command> ctx, TimerScheduler<Command> timers, DpuEndpoint dpu, DpuTransport transport, NpuSettings settings,
      Random random, Clock clock, ActorRef<DpuActor.Changed> changes, DpuMemory memory) {
    this.ctx = ctx;
    this.timers = timers;
    this.dpu = dpu;
    this.transport = transport;
    this.settings = settings;
    this.random = random;
    this.clock = clock;
    this.changes = changes;
    this.memory = memory;
  }

  /** The state to be in after a start or a restart of the actor: whatever it was doing, it goes on with. */
  Behavior<Command> resume() {
    if (memory.work != null) {
      return work();
    }
    return memory.returning != null ? new DpuReturn(this, memory.returning) : new DpuIdle(this);
  }

  Behavior<Command> engage(DpuActor.Engage e) {
    memory.returning = null;
    memory.work = new LinkMemory(e.endpoint(), e.start(), e.replyTo());
    memory.work.epoch = e.epoch();
    return work();
  }

  /** The work in hand, unless its actor has failed too often doing it: then it is given up, and reported so. */
  private Behavior<Command> work() {
    LinkMemory work = memory.work;
    timers.cancelAll();
    int restarts = work.restartsWithin(clock.millis(), LinkMemory.RESTART_WINDOW);
    if (restarts <= LinkMemory.MAX_RESTARTS) {
      return new DpuWork(this, work);
    }
    ctx.getLog().error("[campaign={} dpu={}] the actor of this DPU failed {} times within {} s doing this work; giving it up",
        work.start.campaignId(), dpu.id(), restarts, LinkMemory.RESTART_WINDOW.toSeconds());
    work.report(new LinkReport.GaveUp("the NPU service's link to this DPU failed " + restarts + " times within "
        + LinkMemory.RESTART_WINDOW.toSeconds() + " s (a fault in this service; its log has each failure)"));
    return idle();
  }

  Behavior<Command> followReturn(DpuActor.FollowReturn f) {
    memory.work = null;
    memory.returning = new DpuReturn.Memory(f.noticeId(), f.leavingBootId(), f.replyTo());
    timers.cancelAll();
    return new DpuReturn(this, memory.returning);
  }

  /** Nothing in hand any more; what the DPU looks like next is the idle watch's new baseline. */
  Behavior<Command> idle() {
    memory.work = null;
    memory.returning = null;
    memory.seen = new DpuIdle.Seen();
    timers.cancelAll();
    return new DpuIdle(this);
  }

  /** One question to the DPU, answered straight to the asker. */
  void observeOnce(DpuActor.Observe o) {
    stateNow(o.timeout()).whenComplete((observation, failure) -> o.replyTo().tell(new DpuActor.Answer(dpu.id(), observation, failure)));
  }

  /** The DPU's state now, as a question of its own (no campaign, no long poll). */
  CompletionStage<DpuTransport.Observation> stateNow(Duration timeout) {
    return transport.observe(dpu, "", -1, Duration.ZERO, timeout);
  }

  long nextGeneration() {
    return ++memory.generation;
  }
}
