package io.github.dpucoordinator.npu.chassis;

import io.github.dpucoordinator.npu.coordinator.Coordinator;
import io.github.dpucoordinator.npu.coordinator.CoordinatorState;
import io.github.dpucoordinator.npu.module.ModuleBook;
import io.github.dpucoordinator.npu.notice.NoticeBook;
import io.github.dpucoordinator.npu.module.ModuleEntity;
import io.github.dpucoordinator.npu.notice.NoticeEntity;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.coordinator.PlanView;
import io.github.dpucoordinator.npu.coordinator.StatusView;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * One question to all three entities at once (`status`, `reboot --plan`), in the style of the Pekko tutorial's
 * {@code DeviceGroupQuery}: a short-lived child asks each for its state, collects the answers and hands them on. Each
 * answer comes after every message the entity had before the question (a state read after its last write); an entity
 * that does not answer within {@code timeout} is represented by the chassis' last copy of it ({@link Counts}), so the
 * question is always answered.
 */
final class StateQuery {
  private StateQuery() {}

  /** The three states, read together. */
  record Parts(Coordinator.Campaigns campaigns, ModuleEntity.Book modules, NoticeEntity.Book notices) {
    /** `status`: what each DPU last said comes from the campaign's work or, more recent, a module transition's. */
    StatusView status(NpuSettings settings, long now) {
      Map<String, String> lastSeen = new LinkedHashMap<>(campaigns.lastSeen());
      lastSeen.putAll(modules.lastSeen());
      return StatusView.of(campaigns.state(), modules.book(), notices.book(), settings.dpus(), lastSeen, now,
          campaigns.journalEvents() + modules.journalEvents() + notices.journalEvents(), settings.historyPerDpu());
    }

    /** `reboot --plan`. */
    PlanView plan(NpuSettings settings, boolean force) {
      return PlanView.of(campaigns.state(), modules.book(), notices.book(), settings, force);
    }
  }

  /**
   * The events each entity had journaled when it last answered (they only grow): an entity that does not answer in time
   * is represented by the chassis' last copy of its state and these.
   */
  record Counts(long campaigns, long modules, long notices) implements Command {
    static final Counts NONE = new Counts(0, 0, 0);

    static Counts of(Parts p) {
      return new Counts(p.campaigns().journalEvents(), p.modules().journalEvents(), p.notices().journalEvents());
    }

    Counts max(Counts o) {
      return new Counts(Math.max(campaigns, o.campaigns), Math.max(modules, o.modules), Math.max(notices, o.notices));
    }

    Parts fallback(CoordinatorState campaignView, ModuleBook moduleView, NoticeBook noticeView) {
      return new Parts(new Coordinator.Campaigns(campaignView, Map.of(), campaigns), new ModuleEntity.Book(moduleView, Map.of(), modules),
          new NoticeEntity.Book(noticeView, notices));
    }
  }

  interface Msg {}

  private record GotCampaigns(Coordinator.Campaigns value) implements Msg {}

  private record GotModules(ModuleEntity.Book value) implements Msg {}

  private record GotNotices(NoticeEntity.Book value) implements Msg {}

  private enum Timeout implements Msg { INSTANCE }

  static Behavior<Msg> create(ActorRef<Command> campaigns, ActorRef<Command> modules, ActorRef<Command> notices, Parts fallback,
      Duration timeout, Consumer<Parts> then) {
    return Behaviors.<Msg>setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startSingleTimer(Timeout.INSTANCE, timeout);
      campaigns.tell(new Coordinator.GetCampaigns(ctx.messageAdapter(Coordinator.Campaigns.class, GotCampaigns::new)));
      modules.tell(new ModuleEntity.GetBook(ctx.messageAdapter(ModuleEntity.Book.class, GotModules::new)));
      notices.tell(new NoticeEntity.GetBook(ctx.messageAdapter(NoticeEntity.Book.class, GotNotices::new)));
      return collecting(new Parts(null, null, null), fallback, then);
    }));
  }

  private static Behavior<Msg> collecting(Parts got, Parts fallback, Consumer<Parts> then) {
    if (got.campaigns() != null && got.modules() != null && got.notices() != null) {
      then.accept(got);
      return Behaviors.stopped();
    }
    return Behaviors.receive(Msg.class)
        .onMessage(GotCampaigns.class, m -> collecting(new Parts(m.value(), got.modules(), got.notices()), fallback, then))
        .onMessage(GotModules.class, m -> collecting(new Parts(got.campaigns(), m.value(), got.notices()), fallback, then))
        .onMessage(GotNotices.class, m -> collecting(new Parts(got.campaigns(), got.modules(), m.value()), fallback, then))
        .onMessage(Timeout.class, m -> collecting(new Parts(got.campaigns() != null ? got.campaigns() : fallback.campaigns(),
            got.modules() != null ? got.modules() : fallback.modules(), got.notices() != null ? got.notices() : fallback.notices()),
            fallback, then))
        .build();
  }
}
