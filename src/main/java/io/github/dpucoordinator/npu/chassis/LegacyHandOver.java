package io.github.dpucoordinator.npu.chassis;

import io.github.dpucoordinator.npu.coordinator.CoordinatorState;
import io.github.dpucoordinator.npu.module.ModuleEntity;
import io.github.dpucoordinator.npu.notice.NoticeEntity;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import java.time.Duration;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A journal written before module transitions and DPU-initiated reboots had entities of their own: what the
 * coordinator's state holds of them goes to their entities (each takes it once, and confirms again when asked twice);
 * once both have confirmed, the chassis hears {@link Taken} and has the coordinator drop it. An entity that does not
 * confirm within {@code retry} (it restarted, and the request went with it) is asked again. Until then the chassis
 * admits nothing.
 */
final class LegacyHandOver {
  private LegacyHandOver() {}

  /** Both entities have what the coordinator held of them. */
  enum Taken implements Command { INSTANCE }

  interface Msg {}

  private record Confirmed(boolean modules) implements Msg {}

  private enum Retry implements Msg { INSTANCE }

  /** An ask that got no answer in time: the next retry asks again. */
  private enum Unanswered implements Msg { INSTANCE }

  static Behavior<Msg> create(CoordinatorState legacy, ActorRef<Command> modules, ActorRef<Command> notices, ActorRef<Taken> chassis,
      Duration retry) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      // each entity's answer comes through an ask of its own (one message adapter per class would mix them up)
      ctx.getLog().info("[campaign=legacy dpu=all] handing {} module(s) and {} notice(s) of the coordinator's journal to their entities",
          legacy.modules().size(), legacy.notices().size());
      timers.startTimerWithFixedDelay(Retry.INSTANCE, retry);
      ask(ctx, legacy, modules, notices, false, false, retry);
      return waiting(ctx, legacy, modules, notices, chassis, false, false, retry);
    }));
  }

  private static Behavior<Msg> waiting(ActorContext<Msg> ctx, CoordinatorState legacy, ActorRef<Command> modules, ActorRef<Command> notices,
      ActorRef<Taken> chassis, boolean modulesDone, boolean noticesDone, Duration retry) {
    if (modulesDone && noticesDone) {
      chassis.tell(Taken.INSTANCE);
      return Behaviors.stopped();
    }
    return Behaviors.receive(Msg.class)
        .onMessage(Confirmed.class, c -> waiting(ctx, legacy, modules, notices, chassis, modulesDone || c.modules(),
            noticesDone || !c.modules(), retry))
        .onMessage(Unanswered.class, u -> Behaviors.same())
        .onMessage(Retry.class, r -> {
          ctx.getLog().warn("[campaign=legacy dpu=all] the hand-over is not confirmed yet (modules: {}, notices: {}); asking again",
              modulesDone, noticesDone);
          ask(ctx, legacy, modules, notices, modulesDone, noticesDone, retry);
          return Behaviors.same();
        })
        .build();
  }

  private static void ask(ActorContext<Msg> ctx, CoordinatorState legacy, ActorRef<Command> modules, ActorRef<Command> notices,
      boolean modulesDone, boolean noticesDone, Duration timeout) {
    if (!modulesDone) {
      ctx.ask(Done.class, modules, timeout, r -> new ModuleEntity.Adopt(legacy.modules(), r),
          (d, f) -> d != null ? new Confirmed(true) : Unanswered.INSTANCE);
    }
    if (!noticesDone) {
      ctx.ask(Done.class, notices, timeout, r -> new NoticeEntity.Adopt(legacy.notices(), r),
          (d, f) -> d != null ? new Confirmed(false) : Unanswered.INSTANCE);
    }
  }
}
