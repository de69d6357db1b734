package io.github.dpucoordinator.npu.chassis;

import io.github.dpucoordinator.npu.coordinator.CoordinatorState;
import io.github.dpucoordinator.npu.module.ModuleEntity;
import io.github.dpucoordinator.npu.notice.NoticeEntity;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A journal written before module transitions and DPU-initiated reboots had entities of their own: what the
 * coordinator's state holds of them goes to their entities (each takes it once, and confirms again when asked twice);
 * once both have it, the chassis hears {@link Taken} and has the coordinator drop it. Until then the chassis admits
 * nothing.
 */
final class LegacyHandOver {
  private LegacyHandOver() {}

  /** Both entities have what the coordinator held of them. */
  enum Taken implements Command { INSTANCE }

  static Behavior<Done> create(CoordinatorState legacy, ActorRef<Command> modules, ActorRef<Command> notices, ActorRef<Taken> chassis) {
    return Behaviors.setup(ctx -> {
      ctx.getLog().info("[campaign=legacy dpu=all] handing {} module(s) and {} notice(s) of the coordinator's journal to their entities",
          legacy.modules().size(), legacy.notices().size());
      modules.tell(new ModuleEntity.Adopt(legacy.modules(), ctx.getSelf()));
      notices.tell(new NoticeEntity.Adopt(legacy.notices(), ctx.getSelf()));
      return Behaviors.receive(Done.class).onMessage(Done.class, first -> Behaviors.receive(Done.class).onMessage(Done.class, second -> {
        chassis.tell(Taken.INSTANCE);
        return Behaviors.stopped();
      }).build()).build();
    });
  }
}
