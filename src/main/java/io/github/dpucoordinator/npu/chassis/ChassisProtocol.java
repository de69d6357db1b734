package io.github.dpucoordinator.npu.chassis;

import io.github.dpucoordinator.npu.coordinator.Coordinator;
import io.github.dpucoordinator.npu.coordinator.PlanView;
import io.github.dpucoordinator.npu.coordinator.StatusView;
import io.github.dpucoordinator.npu.module.ModuleEntity;
import io.github.dpucoordinator.npu.notice.NoticeEntity;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What the {@link Chassis} answers itself, beside the requests of {@code NpuProtocol} it hands to the entities: the
 * views that need all three entities, and how it is set up. {@link Chassis} implements this, so each is also named
 * {@code Chassis.X}.
 */
public interface ChassisProtocol {
  /** `status`: answered from all three entities' states, read after their last writes. */
  public record GetStatus(ActorRef<StatusView> replyTo) implements Command {}

  /** `reboot --plan`: what a campaign would do now, without doing anything. */
  public record GetPlan(boolean force, ActorRef<PlanView> replyTo) implements Command {
    public GetPlan(ActorRef<PlanView> replyTo) {
      this(false, replyTo);
    }
  }

  /** The three entities' refs, for tests that talk to one of them. */
  public record GetParts(ActorRef<Parts> replyTo) implements Command {}

  public record Parts(ActorRef<Command> campaigns, ActorRef<Command> modules, ActorRef<Command> notices) {}

  /** The persistence ids of the three entities. */
  public record PersistenceIds(String campaigns, String modules, String notices) {
    public static final PersistenceIds DEFAULT =
        new PersistenceIds(Coordinator.PERSISTENCE_ID, ModuleEntity.PERSISTENCE_ID, NoticeEntity.PERSISTENCE_ID);

    /** {@code prefix}, {@code prefix-modules} and {@code prefix-notices} (tests: ids of their own). */
    public static PersistenceIds of(String prefix) {
      return new PersistenceIds(prefix, prefix + "-modules", prefix + "-notices");
    }
  }
}
