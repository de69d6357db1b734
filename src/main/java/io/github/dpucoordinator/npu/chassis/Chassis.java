package io.github.dpucoordinator.npu.chassis;

import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.npu.coordinator.Coordinator;
import io.github.dpucoordinator.npu.coordinator.CoordinatorState;
import io.github.dpucoordinator.npu.coordinator.Phase;
import io.github.dpucoordinator.npu.dpu.DpuActor;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.module.ModuleBook;
import io.github.dpucoordinator.npu.module.ModuleEntity;
import io.github.dpucoordinator.npu.notice.NoticeBook;
import io.github.dpucoordinator.npu.notice.NoticeEntity;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.AskDpu;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.CancelCampaign;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.GoingReceived;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.GoingReply;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.ModuleCommand;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.NoticeReceived;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.PostponedOnDpu;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.StartCampaign;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.StartReply;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.WatchTransition;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;

/**
 * The NPU's front door and the one owner of the rules between its aggregates. It spawns, for the service's life, one
 * {@link DpuActor} per configured DPU and three event-sourced entities, each with its own persistence id: campaigns
 * ({@link Coordinator}), module transitions ({@link ModuleEntity}) and DPU-initiated reboots ({@link NoticeEntity}).
 * Every API request comes here and goes to the entity that owns it. The rules across them ({@link ChassisRules}) are
 * applied here, to each entity's latest state (sent after each of its writes), and nowhere else:
 * <ul>
 *   <li>no campaign while a DPU is in a module transition or reboots on its own (one that is administratively down
 *       does not count), and DPUs administratively down are left out of it;</li>
 *   <li>no module transition while a campaign is in flight;</li>
 *   <li>a DPU that announces its own reboot while a campaign or a transition holds it is told to postpone;</li>
 *   <li>a change of a DPU that none of them explains is recorded as unplanned; the DPU actors watch only while no
 *       campaign is in flight.</li>
 * </ul>
 * A request that could break a rule (starting or ending something) is admitted only after the one before it has been
 * journaled or refused ({@link Admissions}: the others wait in order meanwhile), so two never pass on the same stale state.
 * Until every entity has recovered, and has taken over what a journal written before the split left in the
 * coordinator's journal, every request waits.
 */
public final class Chassis extends AbstractBehavior<Command> implements ChassisProtocol {

  private record CampaignsChanged(CoordinatorState state) implements Command {}

  private record ModulesChanged(ModuleBook book) implements Command {}

  private record NoticesChanged(NoticeBook book) implements Command {}

  private record DpuChanged(String dpuId, String what, String detail) implements Command {}


  public static Behavior<Command> create(NpuSettings settings, DpuTransport transport, HostActions host, Clock clock) {
    return create(PersistenceIds.DEFAULT, settings, transport, host, clock);
  }

  public static Behavior<Command> create(PersistenceIds ids, NpuSettings settings, DpuTransport transport, HostActions host,
      Clock clock) {
    return Behaviors.withStash(10_000, stash -> Behaviors.setup(ctx -> new Chassis(ctx, stash, ids, settings, transport, host, clock)));
  }

  private final Admissions admissions;
  private final NpuSettings settings;
  private final Clock clock;
  private final Map<String, ActorRef<DpuActor.Command>> actors = new LinkedHashMap<>();
  private final ActorRef<Command> campaigns;
  private final ActorRef<Command> modules;
  private final ActorRef<Command> notices;
  private CoordinatorState campaignView;
  private ModuleBook moduleView;
  private NoticeBook noticeView;
  /** The legacy hand-over is under way (or done, for the journal it was asked for). */
  private boolean handingOver;
  private Boolean watching;
  /** The events each entity (campaigns, modules, notices) had journaled when it last answered a question. */
  private StateQuery.Counts counted = StateQuery.Counts.NONE;
  /** Both entities have taken the legacy part: the coordinator is told to drop it until its state says it has. */
  private boolean legacyTaken;

  private Chassis(ActorContext<Command> ctx, StashBuffer<Command> stash, PersistenceIds ids, NpuSettings settings,
      DpuTransport transport, HostActions host, Clock clock) {
    super(ctx);
    this.admissions = new Admissions(ctx, stash, settings.admin().askTimeout(), this::ready);
    this.settings = settings;
    this.clock = clock;
    Random random = new Random();
    ActorRef<DpuActor.Changed> changes = ctx.messageAdapter(DpuActor.Changed.class, c -> new DpuChanged(c.dpuId(), c.what(), c.detail()));
    settings.dpus().forEach(d -> actors.put(d.id(),
        ctx.spawn(DpuActor.create(d, transport, settings, random, clock, changes), "dpu-" + Ids.safe(d.id()))));
    Map<String, ActorRef<DpuActor.Command>> shared = Map.copyOf(actors);
    campaigns = ctx.spawn(supervised(Coordinator.create(ids.campaigns(), settings, transport, shared, host, clock,
        ctx.messageAdapter(CoordinatorState.class, CampaignsChanged::new), ctx.getSelf().narrow())), "campaigns");
    modules = ctx.spawn(supervised(ModuleEntity.create(ids.modules(), settings, transport, shared, host, clock,
        ctx.messageAdapter(ModuleBook.class, ModulesChanged::new))), "modules");
    notices = ctx.spawn(supervised(NoticeEntity.create(ids.notices(), settings, transport, shared, host, clock,
        ctx.messageAdapter(NoticeBook.class, NoticesChanged::new))), "notices");
  }

  /** An entity that fails other than in a journal write (which it handles itself) is restarted, with backoff. */
  private static Behavior<Command> supervised(Behavior<Command> entity) {
    return Behaviors.supervise(entity).onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(CampaignsChanged.class, this::onCampaigns)
        .onMessage(ModulesChanged.class, m -> changed(() -> moduleView = m.book()))
        .onMessage(NoticesChanged.class, m -> changed(() -> noticeView = m.book()))
        .onMessage(LegacyHandOver.Taken.class, m -> {
          legacyTaken = true;
          campaigns.tell(Coordinator.HandedOver.INSTANCE);
          return this; // ready once the campaign entity's state without them comes back
        })
        .onMessage(Admissions.Admitted.class, a -> admissions.onAdmitted(a, this))
        .onMessage(DpuChanged.class, this::onDpuChanged)
        .onMessage(StateQuery.Counts.class, c -> {
          counted = counted.max(c);
          return this;
        })
        .onMessage(GetParts.class, g -> {
          g.replyTo().tell(new Parts(campaigns, modules, notices));
          return this;
        })
        .onAnyMessage(this::onRequest)
        .build();
  }

  private boolean ready() {
    return campaignView != null && moduleView != null && noticeView != null && !campaignView.hasLegacy();
  }

  private Behavior<Command> changed(Runnable update) {
    update.run();
    maybeHandOver();
    return next();
  }

  /**
   * A journal written before the split: the coordinator's modules and notices go to their entities (each takes them
   * once), then the coordinator drops them. Until then nothing is admitted.
   */
  private void maybeHandOver() {
    if (campaignView != null && campaignView.hasLegacy() && moduleView != null && noticeView != null && !handingOver) {
      handingOver = true;
      getContext().spawnAnonymous(LegacyHandOver.create(campaignView, modules, notices, getContext().getSelf().narrow(),
          settings.admin().askTimeout()));
    }
  }

  /** Whatever waited and may go now, one at a time; the DPU actors watch once the chassis can tell what is planned. */
  private Behavior<Command> next() {
    boolean idle = campaignView != null && campaignView.phase() == Phase.IDLE;
    if (ready() && (watching == null || watching != idle)) {
      watching = idle; // a campaign's work follows its DPUs: the watch rests meanwhile and starts afresh when it is over
      actors.values().forEach(a -> a.tell(new DpuActor.Watch(idle)));
    }
    return admissions.next(this);
  }

  private Behavior<Command> onCampaigns(CampaignsChanged c) {
    campaignView = c.state();
    if (campaignView.hasLegacy() && legacyTaken) {
      campaigns.tell(Coordinator.HandedOver.INSTANCE); // its write of that failed, or it restarted first: again
    }
    maybeHandOver();
    return next();
  }

  private Behavior<Command> onRequest(Command c) {
    boolean admission = c instanceof StartCampaign || c instanceof CancelCampaign || c instanceof ModuleCommand
        || c instanceof NoticeReceived || c instanceof GoingReceived;
    if (c instanceof ModuleEntity.Restart r && ready()) {
      return onRestart(r);
    }
    // Only questions pass what waits: anything else from a sender (a DPU's postponement after its notice) stays behind
    // what that sender sent before it.
    if (admissions.waits(c, admission, c instanceof GetStatus || c instanceof GetPlan || c instanceof AskDpu)) {
      return this;
    }
    if (c instanceof StartCampaign s) {
      onStart(s);
    } else if (c instanceof CancelCampaign x) {
      admissions.admitWithStatus(campaigns, r -> new Coordinator.Cancel(x.reason(), r), x.replyTo());
    } else if (c instanceof ModuleCommand m) {
      onModule(m);
    } else if (c instanceof NoticeReceived n) {
      admissions.admit(Done.class, notices, r -> new NoticeEntity.Announce(n, ChassisRules.busy(views(), n.dpuId()), r), getContext().getSystem().ignoreRef(), f -> null);
    } else if (c instanceof GoingReceived g) {
      admissions.admit(GoingReply.class, notices, r -> new GoingReceived(g.dpuId(), g.noticeId(), g.why(), g.bootId(), r), g.replyTo(),
          f -> new GoingReply(false, "not recorded: " + f, 0));
    } else if (c instanceof PostponedOnDpu || c instanceof WatchTransition) {
      (c instanceof PostponedOnDpu ? notices : modules).tell(c);
    } else if (c instanceof AskDpu a) {
      ActorRef<DpuActor.Command> actor = actors.get(a.dpuId());
      if (actor == null) {
        a.replyTo().tell(new DpuActor.Answer(a.dpuId(), null, new IllegalArgumentException("unknown DPU '" + a.dpuId() + "'")));
      } else {
        actor.tell(new DpuActor.Observe(a.replyTo(), a.timeout()));
      }
    } else if (c instanceof GetStatus g) {
      query(p -> g.replyTo().tell(p.status(settings, clock.millis())
          .withJournalFailures(io.github.dpucoordinator.npu.journal.JournalHealth.get(getContext().getSystem()).failures())));
    } else if (c instanceof GetPlan g) {
      query(p -> g.replyTo().tell(p.plan(settings, g.force())));
    } else {
      getContext().getLog().warn("[campaign=none dpu=all] unexpected message {}", c.getClass().getName());
    }
    return this;
  }

  private void onStart(StartCampaign c) {
    String blocked = ChassisRules.campaignBlocked(views());
    if (blocked != null) {
      c.replyTo().tell(new StartReply(false, "", blocked));
      return;
    }
    // A DPU shut down by `chassis module shutdown` is off: there is nothing to tell it.
    List<DpuEndpoint> dpus = settings.dpus().stream().filter(d -> !moduleView.down(d.id())).toList();
    admissions.admitWithStatus(campaigns, r -> new Coordinator.Begin(c.reason(), c.kind(), c.force(), dpus, r), c.replyTo());
  }

  private void onModule(ModuleCommand c) {
    String blocked = settings.dpu(c.dpuId()).isPresent() ? ChassisRules.transitionBlocked(views(), c.dpuId()) : null;
    if (blocked != null) {
      c.replyTo().tell(new StartReply(false, campaignView.current().id(), blocked));
      return;
    }
    admissions.admit(StartReply.class, modules, r -> new ModuleCommand(c.dpuId(), c.kind(), c.reason(), c.force(), r), c.replyTo(), Admissions::unanswered);
  }

  /**
   * The campaign entity's: a halted DPU of the campaign it cancelled is to be restarted. It comes while the cancel's
   * own admission is still open, so it goes through at once, ahead of anything that waits (a new campaign must see the
   * transition); it is itself an admission until the module entity has journaled it. One that comes again after a
   * restart of the service while another campaign is in flight is dropped: that campaign has the DPU now.
   */
  private Behavior<Command> onRestart(ModuleEntity.Restart r) {
    String blocked = ChassisRules.transitionBlocked(views(), r.dpu().id());
    if (blocked != null) {
      getContext().getLog().info("[campaign={} dpu={}] restart after a cancelled campaign not started: {}", r.transitionId(), r.dpu().id(),
          blocked);
      return this;
    }
    modules.tell(r);
    admissions.admit(ModuleEntity.Book.class, modules, ModuleEntity.GetBook::new, getContext().getSystem().ignoreRef(), f -> null);
    return this;
  }

  private ChassisRules.Views views() {
    return new ChassisRules.Views(campaignView, moduleView, noticeView);
  }

  /** A change of a DPU's state seen by its idle actor: recorded, unless something planned explains it. */
  private Behavior<Command> onDpuChanged(DpuChanged w) {
    if (admissions.waits(w, false, false)) {
      return this; // kept until the entities have recovered: what explains it is not known before
    }
    String planned = ChassisRules.planned(views(), w.dpuId());
    if (planned != null) {
      getContext().getLog().debug("[campaign=none dpu={}] {} ({}): planned, {}", w.dpuId(), w.what(), w.detail(), planned);
    } else {
      notices.tell(new NoticeEntity.Unplanned(w.dpuId(), w.what(), w.detail()));
    }
    return this;
  }

  private void query(java.util.function.Consumer<StateQuery.Parts> then) {
    ActorRef<Command> self = getContext().getSelf();
    StateQuery.Parts fallback = counted.fallback(campaignView, moduleView, noticeView);
    getContext().spawnAnonymous(StateQuery.create(campaigns, modules, notices, fallback, settings.admin().askTimeout().dividedBy(2), p -> {
      self.tell(StateQuery.Counts.of(p));
      then.accept(p);
    }));
  }
}
