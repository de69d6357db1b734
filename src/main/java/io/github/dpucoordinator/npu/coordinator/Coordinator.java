package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.PreRebootTasksDone;
import io.github.dpucoordinator.npu.dpu.DpuActor;
import io.github.dpucoordinator.npu.dpu.DpuFleet;
import io.github.dpucoordinator.npu.dpu.LinkReport;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.npu.journal.JournalHealth;
import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.module.ModuleEntity;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.StartReply;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReplyBuilder;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The campaign entity: seed 000's NPU state machine (Idle, PrepareForReboot, NotifyDPUs, WaitForAcknowledgments,
 * ProceedWithReboot / ErrorLogging, Reboot, PostReboot) as an event-sourced behavior, so a restarted service resumes
 * the campaign it was in. Module transitions and DPU-initiated reboots are entities of their own; the chassis admits a
 * campaign only when neither stands in the way, and hands this entity the DPUs it covers.
 *
 * <p>Every phase's side effects (starting DPU work, arming the deadline timer, running the reboot action) happen in
 * {@link CampaignPhases#enter}, after the event that entered the phase is persisted and again after recovery; timers
 * are armed for the time left until the journaled absolute deadline. Its collaborators: {@link CampaignStart},
 * {@link CampaignLinks} (reports of a burst journaled in one write), {@link AckDeadlines}, {@link CampaignEnd} and
 * {@link NpuReboot}. After every write its state goes to {@code view}, the chassis' copy.
 */
public final class Coordinator extends EventSourcedBehaviorWithEnforcedReplies<Command, JournalEvent, CampaignState> {

  public static final String PERSISTENCE_ID = "npu-coordinator";

  private enum Advance implements Command { INSTANCE }

  private enum Flush implements Command { INSTANCE }

  /**
   * The chassis admitted a campaign ({@code reason}, {@code kind}, {@code force}) for these DPUs (the configured ones
   * less those administratively down). Answered with the campaign started, or {@link Refused}.
   */
  public record Begin(String reason, CampaignKind kind, boolean force, List<DpuEndpoint> dpus, ActorRef<StatusReply<StartReply>> replyTo)
      implements Command {}

  /** `reboot --cancel`: answered with the campaign cancelled, or {@link Refused}. */
  public record Cancel(String reason, ActorRef<StatusReply<StartReply>> replyTo) implements Command {}

  /** Why a campaign was not started or cancelled; {@code campaignId}: the one in flight, if that is why. */
  public static final class Refused extends RuntimeException {
    private final String campaignId;

    public Refused(String campaignId, String message) {
      super(message, null, false, false);
      this.campaignId = campaignId;
    }

    public String campaignId() {
      return campaignId;
    }
  }

  /** The state now, after every message before this one. */
  public record GetCampaigns(ActorRef<Campaigns> replyTo) implements Command {}

  /** {@code lastSeen}: what each DPU of the campaign in flight last said; {@code journalEvents}: this entity's events so far. */
  public record Campaigns(CoordinatorState state, Map<String, String> lastSeen, long journalEvents) {}

  /** The modules and notices of a journal written before the split are their entities' own now: drop them here. */
  public enum HandedOver implements Command { INSTANCE }

  /** A DPU actor's report about one DPU of one campaign. */
  public record FromLink(String campaignId, String dpuId, LinkReport report) implements Command {}

  record ForceDone(String campaignId, String dpuId, StepResult result) implements Command {}

  /** The pre-reboot tasks of the campaign have run (the outcome of {@link CampaignPhases#enter}). */
  record PrepareFinished(String campaignId, List<StepResult> results) implements Command {}

  /**
   * {@code actors}: the chassis' DPU actors; {@code view}: where each new state goes; {@code restarts}: where the halted
   * DPUs of a cancelled campaign go, to be restarted by module transitions.
   */
  public static Behavior<Command> create(String persistenceId, NpuSettings settings, DpuTransport transport,
      Map<String, ActorRef<DpuActor.Command>> actors, HostActions host, Clock clock, ActorRef<CoordinatorState> view,
      ActorRef<ModuleEntity.Restart> restarts) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Coordinator(persistenceId, ctx, timers, settings, transport, actors, host, clock, view, restarts)));
  }

  private final ActorContext<Command> ctx;
  private final NpuSettings settings;
  private final Clock clock;
  private final Random random = new Random();
  private final ActorRef<CoordinatorState> view;
  private final DpuFleet<Command> fleet;
  private final CampaignLinks links;
  private final Escalations escalations;
  private final JournalWrites<JournalEvent, CampaignState> journal;
  private final CampaignStart start;
  private final NpuReboot reboot;
  private final CampaignEnd end;
  private final AckDeadlines ackDeadlines;
  private final CampaignPhases campaignPhases;

  private Coordinator(String persistenceId, ActorContext<Command> ctx, TimerScheduler<Command> timers, NpuSettings settings,
      DpuTransport transport, Map<String, ActorRef<DpuActor.Command>> actors, HostActions host, Clock clock,
      ActorRef<CoordinatorState> view, ActorRef<ModuleEntity.Restart> restarts) {
    super(PersistenceId.ofUniqueId(persistenceId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.ctx = ctx;
    this.settings = settings;
    this.clock = clock;
    this.view = view;
    this.journal = new JournalWrites<>(Effect(), () -> lastSequenceNumber(ctx), state -> view.tell(state.flat()),
        JournalHealth.get(ctx.getSystem()).of(persistenceId));
    this.fleet = new DpuFleet<>(ctx, actors, transport, settings, random, clock,
        r -> new FromLink(r.workId(), r.dpuId(), r.report()), null);
    this.links = new CampaignLinks(ctx, fleet, settings, clock);
    this.escalations = new Escalations(ctx, settings, host, clock);
    Phases phases = new Phases() {
      public EffectBuilder<JournalEvent, CampaignState> persistThenEnter(List<CampaignEvent> events) {
        return Coordinator.this.persistThenEnter(events);
      }

      public EffectBuilder<JournalEvent, CampaignState> persistThenAdvance(List<CampaignEvent> events) {
        return Coordinator.this.persistThenAdvance(events);
      }

      public void enter(CampaignState s, boolean recovered) {
        campaignPhases.enter(s, recovered);
      }

      public void advance() {
        ctx.getSelf().tell(Advance.INSTANCE);
      }
    };
    this.start = new CampaignStart(ctx, settings, clock, random, journal, phases);
    this.reboot = new NpuReboot(ctx, timers, settings, host, clock, journal, links, phases);
    this.end = new CampaignEnd(ctx, settings, clock, random, journal, links, restarts, phases);
    this.ackDeadlines = new AckDeadlines(ctx, settings, clock, journal, links, end, phases);
    this.campaignPhases = new CampaignPhases(ctx, settings, host, clock, journal, links, ackDeadlines, escalations, reboot, phases);
  }

  @Override
  public CampaignState emptyState() {
    return CampaignState.empty();
  }

  /** Snapshots are written as the one-record form ({@link CoordinatorState}), as before the state had a type per phase. */
  @Override
  public SnapshotAdapter<CampaignState> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(CampaignState state) {
        return state.flat();
      }

      @Override
      public CampaignState fromJournal(Object from) {
        return CampaignState.of((CoordinatorState) from);
      }
    };
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  /**
   * Handlers by the state the campaign is in: what only a phase takes is registered for its state type alone, so a
   * message that arrives after its phase has ended (a late timer, a late result) finds no handler there and is dropped
   * (logged) by the last one. Every command answers or says it does not ({@code thenNoReply}).
   */
  @Override
  public CommandHandlerWithReply<Command, JournalEvent, CampaignState> commandHandler() {
    CommandHandlerWithReplyBuilder<Command, JournalEvent, CampaignState> b = newCommandHandlerWithReplyBuilder();
    b.forStateType(CampaignState.PrepareForReboot.class)
        .onCommand(PrepareFinished.class, (s, p) -> onPrepareFinished(s, p).thenNoReply());
    b.forStateType(CampaignState.WaitForAcknowledgments.class)
        .onCommand(AckDeadlines.Reached.class, ackDeadlines::onDeadline)
        .onCommand(AckCollector.AllIn.class, ackDeadlines::onAllIn);
    b.forStateType(CampaignState.ErrorLogging.class)
        .onCommand(ForceDone.class, (s, f) -> {
          CampaignEvent.DpuForced forced = escalations.onDone(s, f);
          return (forced == null ? Effect().none() : persistThenAdvance(List.of(forced))).thenNoReply();
        });
    b.forStateType(CampaignState.Reboot.class)
        .onCommand(NpuReboot.ActionFinished.class, (s, a) -> reboot.onActionFinished(s, a).thenNoReply())
        .onCommand(NpuReboot.Settled.class, (s, a) -> reboot.onSettled(s, a).thenNoReply())
        .onCommand(NpuReboot.RunAgain.class, (s, a) -> reboot.onRunAgain(s, a).thenNoReply());
    b.forStateType(CampaignState.PostReboot.class)
        .onCommand(NpuReboot.BootDeadline.class, (s, a) -> reboot.onBootDeadline(s, a).thenNoReply());
    b.forAnyState()
        .onCommand(Begin.class, start::onStart)
        .onCommand(Cancel.class, end::onCancel)
        .onCommand(GetCampaigns.class, (s, c) -> Effect().reply(c.replyTo(), new Campaigns(s.flat(), Map.copyOf(links.lastSeen()),
            lastSequenceNumber(ctx))))
        .onCommand(FromLink.class, (s, r) -> onFromLink(s, r).thenNoReply())
        .onCommand(Flush.class, (s, c) -> onFlush(s).thenNoReply())
        .onCommand(Advance.class, (s, a) -> campaignPhases.onAdvance(s).thenNoReply())
        .onCommand(AckDeadlines.CollectorStopped.class, ackDeadlines::onStopped)
        .onCommand(HandedOver.class, (s, h) -> (!s.hasLegacy() ? Effect().none()
            : journal.persist(new CampaignEvent.LegacyHandedOver("legacy", clock.millis())).thenRun(next ->
                ctx.getLog().info("[campaign=legacy dpu=all] modules and notices of the coordinator's journal handed to their entities")))
            .thenNoReply())
        .onAnyCommand((s, c) -> {
          ctx.getLog().debug("[campaign={} dpu=all] {} is not for phase {}; dropped", s.current() == null ? "none" : s.current().id(),
              c.getClass().getSimpleName(), s.phase().display());
          return Effect().none().thenNoReply();
        });
    return b.build();
  }

  @Override
  public EventHandler<CampaignState, JournalEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onAnyEvent((state, event) -> state.apply(event, settings.historyPerDpu(), settings.recentCampaigns()));
  }

  @Override
  public SignalHandler<CampaignState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(org.apache.pekko.persistence.typed.RecoveryFailed.class, (state, failed) -> journal.recoveryFailed(failed))
        .onSignal(RecoveryCompleted.instance(), state -> {
          journal.recovered();
          view.tell(state.flat());
          fleet.renew();
          ackDeadlines.recovered();
          if (state.current() != null) {
            ctx.getLog().info("[campaign={} dpu=all] recovered in phase {}; resuming", state.current().id(), state.phase().display());
          }
          campaignPhases.enter(state, true);
          end.restartHalted(state.last()); // what a restart may have cut short (the module entity starts each once)
        })
        .build();
  }

  // ---- commands ----

  private EffectBuilder<JournalEvent, CampaignState> onFromLink(CampaignState s, FromLink r) {
    if (!s.isCurrent(r.campaignId())) {
      ctx.getLog().info("[campaign={} dpu={}] ignoring a report for a campaign that is not in flight", r.campaignId(), r.dpuId());
      return Effect().none();
    }
    if (links.buffer(r)) {
      ctx.getSelf().tell(Flush.INSTANCE); // behind the reports already queued: one write for them all
    }
    return Effect().none();
  }

  private EffectBuilder<JournalEvent, CampaignState> onPrepareFinished(CampaignState s, PrepareFinished p) {
    if (!s.isCurrent(p.campaignId())) {
      return Effect().none();
    }
    return persistThenEnter(List.of(new PreRebootTasksDone(p.campaignId(), p.results(), clock.millis())));
  }

  private EffectBuilder<JournalEvent, CampaignState> persistThenEnter(List<CampaignEvent> events) {
    return journal.persist(events).thenRun(next -> campaignPhases.enter(next, false));
  }

  /** The reports buffered since the last flush, journaled in one write. */
  private EffectBuilder<JournalEvent, CampaignState> onFlush(CampaignState s) {
    return persistThenAdvance(links.drain(s));
  }

  /** Journals {@code events}; then the DPU baselines among them release their signals, and the phase may advance. */
  private EffectBuilder<JournalEvent, CampaignState> persistThenAdvance(List<CampaignEvent> events) {
    if (events.isEmpty()) {
      return Effect().none();
    }
    return journal.persist(events).thenRun(next -> {
      links.baselinesJournaled(events);
      ctx.getSelf().tell(Advance.INSTANCE);
    });
  }
}
