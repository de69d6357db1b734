package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.npu.dpu.DpuActor.Command;
import io.github.dpucoordinator.npu.transport.DpuTransport.Observation;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;

/**
 * A state of a {@link DpuActor}: what every state answers the same way (new work, a release, the watch switch, a
 * one-off question), with the hooks a state overrides. Replies to an earlier state carry its {@link #generation} and
 * are dropped by the states after it.
 */
abstract class DpuState extends AbstractBehavior<Command> {
  /** The DPU's answer (or the failure to reach it) to a question of the state {@code gen}. */
  record Observed(long gen, Observation observation, Throwable failure) implements Command {}

  /** Time for the state {@code gen} to ask its DPU again. */
  record Poll(long gen) implements Command {}

  final DpuCore core;
  final long generation;

  DpuState(DpuCore core) {
    super(core.ctx);
    this.core = core;
    this.generation = core.nextGeneration();
  }

  /** Asks the DPU for its state now; the answer comes back as {@link Observed} for this state. */
  void askNow() {
    core.ctx.pipeToSelf(core.stateNow(core.settings.signal().rpcTimeout()), (o, f) -> new Observed(generation, o, f));
  }

  /** The id of the work (or notice) this state does; "" when idle. */
  abstract String workId();

  /** The messages every state takes, for a state's own {@code createReceive} to add to. */
  ReceiveBuilder<Command> common() {
    return newReceiveBuilder()
        .onMessage(DpuActor.Engage.class, e -> e.start().campaignId().equals(workId()) ? sameWork(e) : core.engage(e))
        .onMessage(DpuActor.AwaitReady.class, this::onAwaitReady)
        .onMessage(DpuActor.StopSignalling.class, s -> s.workId().equals(workId()) ? onStopSignalling() : this)
        .onMessage(DpuActor.BaselineJournaled.class, b -> b.workId().equals(workId()) ? onBaselineJournaled() : this)
        .onMessage(DpuActor.Release.class, this::onRelease)
        .onMessage(DpuActor.FollowReturn.class, core::followReturn)
        .onMessage(DpuActor.Watch.class, this::onWatch)
        .onMessage(DpuActor.Observe.class, o -> {
          core.observeOnce(o);
          return this;
        });
  }

  /**
   * The work this state does, asked for again. From the same epoch of its owner: nothing new. From a later one (the
   * owner recovered, and what it had not journaled of this work's reports is lost): the work starts over from the
   * journaled start it sends, so that what the DPU shows now is reported again.
   */
  private Behavior<Command> sameWork(DpuActor.Engage e) {
    return core.memory.work != null && core.memory.work.epoch == e.epoch() ? this : core.engage(e);
  }

  /** Readiness after a reboot, for work this state is not doing: it is started as new work. */
  Behavior<Command> onAwaitReady(DpuActor.AwaitReady a) {
    return core.engage(new DpuActor.Engage(a.endpoint(), a.ready(), a.replyTo()));
  }

  Behavior<Command> onStopSignalling() {
    return this;
  }

  Behavior<Command> onBaselineJournaled() {
    return this;
  }

  Behavior<Command> onRelease(DpuActor.Release r) {
    return r.workId().equals(workId()) ? core.idle() : this;
  }

  Behavior<Command> onWatch(DpuActor.Watch w) {
    core.memory.watching = w.on();
    return this;
  }
}
