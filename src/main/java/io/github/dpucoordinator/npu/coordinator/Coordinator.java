package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.PreRebootTasksDone;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The NPU side of a coordinated reboot: seed 000's NPU state machine (Idle, PrepareForReboot,
 * NotifyDPUs, WaitForAcknowledgments, ProceedWithReboot / ErrorLogging, Reboot, PostReboot) as an
 * event-sourced behavior, so a restarted service resumes the campaign it was in.
 *
 * <p>Every phase's side effects (starting DPU links, arming the deadline timer, running the reboot action) happen in
 * {@link #enter}, after the event that entered the phase is persisted and again after recovery; timers are armed for
 * the time left until the journaled absolute deadline. Its collaborators: {@link CampaignStart}, {@link CampaignLinks}
 * (reports of a burst journaled in one write), {@link AckDeadlines}, {@link CampaignEnd}, {@link NpuReboot}, and for
 * what is not a campaign {@link ModuleTransitions}, {@link OwnReboots} and {@link UnplannedEvents}.
 */
public final class Coordinator extends EventSourcedBehavior<Coordinator.Command, CampaignEvent, CoordinatorState>
    implements CoordinatorProtocol {

  public static final String PERSISTENCE_ID = "npu-coordinator";

  private enum Advance implements Command { INSTANCE }

  private enum Flush implements Command { INSTANCE }

  /** The pre-reboot tasks of the campaign have run (the outcome of {@link CampaignPhases#enter}). */
  record PrepareFinished(String campaignId, List<StepResult> results) implements Command {}

  public static Behavior<Command> create(NpuSettings settings, DpuTransport transport, HostActions host, Clock clock) {
    return create(PERSISTENCE_ID, settings, transport, host, clock);
  }

  public static Behavior<Command> create(String persistenceId, NpuSettings settings, DpuTransport transport, HostActions host,
      Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Coordinator(persistenceId, ctx, timers, settings, transport, host, clock)));
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final NpuSettings settings;
  private final HostActions host;
  private final Clock clock;
  private final Random random = new Random();
  private final DpuFleet fleet;
  private final CampaignLinks links;
  private final ModuleTransitions modules;
  private final OwnReboots own;
  private final UnplannedEvents unplanned;
  private final Escalations escalations;
  private final JournalWrites journal;
  private final CampaignStart start;
  private final NpuReboot reboot;
  private final CampaignEnd end;
  private final AckDeadlines ackDeadlines;
  private final CampaignPhases campaignPhases;

  private Coordinator(String persistenceId, ActorContext<Command> ctx, TimerScheduler<Command> timers, NpuSettings settings,
      DpuTransport transport, HostActions host, Clock clock) {
    super(PersistenceId.ofUniqueId(persistenceId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.host = host;
    this.clock = clock;
    this.journal = new JournalWrites(Effect(), () -> lastSequenceNumber(ctx));
    this.fleet = new DpuFleet(ctx, transport, settings, random, clock);
    this.links = new CampaignLinks(ctx, fleet, settings, clock);
    this.unplanned = new UnplannedEvents(ctx, fleet, clock, random, journal);
    this.own = new OwnReboots(ctx, timers, settings, fleet, host, clock, journal, unplanned::settled);
    this.modules = new ModuleTransitions(ctx, timers, settings, fleet, host, clock, random, links.lastSeen(), journal,
        unplanned::settled);
    this.escalations = new Escalations(ctx, settings, host, clock);
    Phases phases = new Phases() {
      public Effect<CampaignEvent, CoordinatorState> persistThenEnter(List<CampaignEvent> events) {
        return Coordinator.this.persistThenEnter(events);
      }

      public Effect<CampaignEvent, CoordinatorState> persistThenAdvance(List<CampaignEvent> events) {
        return Coordinator.this.persistThenAdvance(events);
      }

      public void enter(CoordinatorState s, boolean recovered) {
        campaignPhases.enter(s, recovered);
      }

      public void advance() {
        ctx.getSelf().tell(Advance.INSTANCE);
      }
    };
    this.start = new CampaignStart(ctx, settings, clock, random, journal, phases);
    this.reboot = new NpuReboot(ctx, timers, settings, host, clock, journal, links, phases);
    this.end = new CampaignEnd(ctx, settings, clock, random, journal, links, modules, phases);
    this.ackDeadlines = new AckDeadlines(ctx, timers, settings, clock, journal, links, end, phases);
    this.campaignPhases = new CampaignPhases(ctx, settings, host, clock, journal, links, ackDeadlines, escalations, reboot, unplanned,
        phases);
  }

  @Override
  public CoordinatorState emptyState() {
    return CoordinatorState.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  @Override
  public CommandHandler<Command, CampaignEvent, CoordinatorState> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(StartCampaign.class, start::onStart)
        .onCommand(GetStatus.class, (s, c) -> only(() ->
            c.replyTo().tell(StatusView.of(s, settings.dpus(), links.lastSeen(), clock.millis(), lastSequenceNumber(ctx)))))
        .onCommand(FromLink.class, this::onFromLink)
        .onCommand(Flush.class, (s, c) -> persistThenAdvance(links.drain(s)))
        .onCommand(Advance.class, (s, a) -> campaignPhases.onAdvance(s))
        .onCommand(PrepareFinished.class, this::onPrepareFinished)
        .onCommand(AckDeadlines.Reached.class, ackDeadlines::onDeadline)
        .onCommand(NpuReboot.ActionFinished.class, reboot::onActionFinished)
        .onCommand(NpuReboot.Settled.class, reboot::onSettled)
        .onCommand(NpuReboot.RunAgain.class, reboot::onRunAgain)
        .onCommand(NpuReboot.BootDeadline.class, reboot::onBootDeadline)
        .onCommand(ModuleCommand.class, modules::onModule)
        .onCommand(CancelCampaign.class, end::onCancel)
        .onCommand(GetPlan.class, (s, c) -> only(() -> c.replyTo().tell(PlanView.of(s, settings, c.force()))))
        .onCommand(AskDpu.class, (s, c) -> only(() -> fleet.ask(c.dpuId(), c.timeout(), c.replyTo())))
        .onCommand(WatchTransition.class, modules::onWatchTransition)
        .onCommand(ModuleAdvance.class, modules::onModuleAdvance)
        .onCommand(ModulePowerDone.class, modules::onModulePowerDone)
        .onCommand(ModuleBootTimeout.class, modules::onModuleBootTimeout)
        .onCommand(StartupChecked.class, modules::onStartupChecked)
        .onCommand(ForceDone.class, (s, f) -> {
          CampaignEvent.DpuForced forced = escalations.onDone(s, f);
          return forced == null ? Effect().none() : persistThenAdvance(List.of(forced));
        })
        .onCommand(NoticeReceived.class, own::onNotice)
        .onCommand(HooksDone.class, own::onHooksDone)
        .onCommand(GoingReceived.class, own::onGoing)
        .onCommand(PostponedOnDpu.class, own::onPostponedOnDpu)
        .onCommand(HardDeadline.class, own::onHardDeadline)
        .onCommand(NoticeBack.class, own::onBack)
        .onCommand(BackBy.class, own::onBackBy)
        .onCommand(WatchReport.class, unplanned::onWatchReport)
        .build();
  }

  @Override
  public EventHandler<CoordinatorState, CampaignEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onAnyEvent((state, event) -> state.apply(event, settings.historyPerDpu(), settings.recentCampaigns()));
  }

  @Override
  public SignalHandler<CoordinatorState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          fleet.renew();
          if (state.current() != null) {
            ctx.getLog().info("[campaign={} dpu=all] recovered in phase {}; resuming", state.current().id(), state.phase().display());
          }
          campaignPhases.enter(state, true);
          state.modules().values().stream().filter(m -> m.transition() != null).forEach(m -> {
            ctx.getLog().info("[campaign={} dpu={}] recovered module {} in phase {}; resuming", m.transition().id(), m.dpuId(),
                m.transition().kind(), m.transition().phase());
            modules.enter(state, m.dpuId(), true);
          });
          own.recover(state);
        })
        .build();
  }

  // ---- commands ----

  /** A command that journals nothing: {@code action} is all it does. */
  private Effect<CampaignEvent, CoordinatorState> only(Runnable action) {
    action.run();
    return Effect().none();
  }

  private Effect<CampaignEvent, CoordinatorState> onFromLink(CoordinatorState s, FromLink r) {
    Transition t = s.transition(r.dpuId(), r.campaignId());
    if (t != null) {
      return modules.onReport(s, t, r);
    }
    if (!s.isCurrent(r.campaignId())) {
      ctx.getLog().info("[campaign={} dpu={}] ignoring a report for a campaign that is not in flight", r.campaignId(), r.dpuId());
      return Effect().none();
    }
    if (links.buffer(r)) {
      ctx.getSelf().tell(Flush.INSTANCE); // behind the reports already queued: one write for them all
    }
    return Effect().none();
  }

  private Effect<CampaignEvent, CoordinatorState> onPrepareFinished(CoordinatorState s, PrepareFinished p) {
    if (!s.isCurrent(p.campaignId()) || s.phase() != Phase.PREPARE_FOR_REBOOT) {
      return Effect().none();
    }
    return persistThenEnter(List.of(new PreRebootTasksDone(p.campaignId(), p.results(), clock.millis())));
  }

  /** A timer for the time left until an absolute (journaled) deadline; at once if it has passed. */
  static void armAt(TimerScheduler<Command> timers, Clock clock, String key, Command message, long deadlineMillis) {
    long left = Math.max(0, deadlineMillis - clock.millis());
    timers.startSingleTimer(key, message, Duration.ofMillis(left));
  }

  private Effect<CampaignEvent, CoordinatorState> persistThenEnter(List<CampaignEvent> events) {
    return journal.persist(events).thenRun(next -> campaignPhases.enter(next, false));
  }

  private Effect<CampaignEvent, CoordinatorState> persistThenAdvance(List<CampaignEvent> events) {
    if (events.isEmpty()) {
      return Effect().none();
    }
    return journal.persist(events).thenRun(next -> ctx.getSelf().tell(Advance.INSTANCE));
  }
}
