package io.github.dpucoordinator.npu;

import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.CampaignEvent.AcknowledgmentsCollected;
import io.github.dpucoordinator.npu.CampaignEvent.AcknowledgmentsMissing;
import io.github.dpucoordinator.npu.CampaignEvent.CampaignFinished;
import io.github.dpucoordinator.npu.CampaignEvent.CampaignStarted;
import io.github.dpucoordinator.npu.CampaignEvent.DpuAcknowledged;
import io.github.dpucoordinator.npu.CampaignEvent.DpuGaveUp;
import io.github.dpucoordinator.npu.CampaignEvent.DpuReady;
import io.github.dpucoordinator.npu.CampaignEvent.DpuShutdownCompleted;
import io.github.dpucoordinator.npu.CampaignEvent.PreRebootTasksDone;
import io.github.dpucoordinator.npu.CampaignEvent.RebootIssued;
import io.github.dpucoordinator.npu.CampaignEvent.RebootReturned;
import io.github.dpucoordinator.npu.CampaignEvent.SignalAttemptFailed;
import io.github.dpucoordinator.npu.CampaignEvent.SignalsDispatched;
import io.github.dpucoordinator.npu.CoordinatorState.Campaign;
import io.github.dpucoordinator.npu.CoordinatorState.DpuProgress;
import io.github.dpucoordinator.npu.CoordinatorState.DpuStatus;
import io.github.dpucoordinator.npu.DpuTransport.SignalRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;


import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
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
 * <p>Every phase's side effects (starting DPU links, arming the deadline timer, running the reboot
 * action) happen in {@link #enter}, which runs after the event that entered the phase is persisted
 * and again after recovery; timers are armed for the time left until the journaled absolute
 * deadline. The reboot action is journaled before it runs and is not run again after a restart.
 *
 * <p>Link reports arriving together are journaled in one write: the first schedules a {@link Flush}
 * behind the others already queued, so a burst of N completions costs one database round trip.
 */
public final class Coordinator extends EventSourcedBehavior<Coordinator.Command, CampaignEvent, CoordinatorState> {

  public static final String PERSISTENCE_ID = "npu-coordinator";
  private static final Set<String> KINDS = Set.of("cold", "warm", "power-off");

  public sealed interface Command {}

  /** {@code force}: `reboot --force`, DPU deferrals are not honoured. */
  public record StartCampaign(String reason, String kind, boolean force, ActorRef<StartReply> replyTo) implements Command {
    public StartCampaign(String reason, String kind, ActorRef<StartReply> replyTo) {
      this(reason, kind, false, replyTo);
    }
  }

  /** A DPU announces (or re-announces, {@code round} > 1) a reboot of its own; answered with a {@link NoticeReply}. */
  public record NoticeReceived(String dpuId, String noticeId, String reason, long planned, long hardDeadline, int round,
      ActorRef<NoticeReply> replyTo) implements Command {}

  /** {@code error} non-empty: the notice was refused (unknown DPU, malformed); else ACK or POSTPONE until {@code until}. */
  public record NoticeReply(String error, String decision, long until, String reason, String responder) {
    static NoticeReply error(String message) {
      return new NoticeReply(message, "", 0, "", "");
    }
  }

  /** The DPU is rebooting now ({@code why}: acknowledged, hard deadline, ...). */
  public record GoingReceived(String dpuId, String noticeId, String why, String bootId, ActorRef<GoingReply> replyTo) implements Command {}

  public record GoingReply(boolean ok, String message, long expectBackBy) {}

  /** The DPU's own reboot was postponed on the DPU itself (dpu-postpone); answered with a {@link GoingReply}. */
  public record PostponedOnDpu(String dpuId, String noticeId, long untilMillis, String by, String reason, ActorRef<GoingReply> replyTo)
      implements Command {}

  /** A DPU that rebooted on its own is Listening again. */
  public record NoticeBack(String dpuId, String noticeId, String detail) implements Command {}

  /** The watcher saw a DPU go away, come back or restart ({@code what}). */
  public record WatchReport(String dpuId, String what, String detail) implements Command {}

  /** The hooks of one round finished. */
  record HooksDone(String dpuId, String noticeId, int round, List<StepResult> results) implements Command {}

  /** A notice's hard deadline (plus slack) passed: if the DPU has not said it went, it went. */
  record HardDeadline(String dpuId, String noticeId) implements Command {}

  /** The DPU was expected back by now. */
  record BackBy(String dpuId, String noticeId) implements Command {}

  record ForceDone(String campaignId, String dpuId, StepResult result) implements Command {}

  public record StartReply(boolean accepted, String campaignId, String message) {}

  public record GetStatus(ActorRef<StatusView> replyTo) implements Command {}

  /** A link's report about one DPU of one campaign. */
  public record FromLink(String campaignId, String dpuId, DpuLink.Report report) implements Command {}

  private enum Advance implements Command { INSTANCE }

  private enum Flush implements Command { INSTANCE }

  private record PrepareFinished(String campaignId, List<StepResult> results) implements Command {}

  private record AckDeadlineReached(String campaignId) implements Command {}

  private record RebootActionFinished(String campaignId, StepResult result) implements Command {}

  private record RebootSettled(String campaignId, StepResult result) implements Command {}

  /** After a restart: the reboot action this service's death interrupted is run again. */
  private record RunRebootAgain(String campaignId, String why, String bootId) implements Command {}

  private record DpuBootDeadline(String campaignId, String dpuId) implements Command {}

  /** `reboot --cancel`: ends a campaign that has not reached Reboot. */
  public record CancelCampaign(String reason, ActorRef<StartReply> replyTo) implements Command {}

  /** `reboot --plan`: what a campaign would do now, without doing anything. */
  public record GetPlan(boolean force, ActorRef<PlanView> replyTo) implements Command {
    public GetPlan(ActorRef<PlanView> replyTo) {
      this(false, replyTo);
    }
  }

  /** `chassis module shutdown|startup` of one DPU ({@code kind} is "shutdown" or "startup"). */
  public record ModuleCommand(String dpuId, String kind, String reason, boolean force, ActorRef<StartReply> replyTo) implements Command {
    public ModuleCommand(String dpuId, String kind, String reason, ActorRef<StartReply> replyTo) {
      this(dpuId, kind, reason, false, replyTo);
    }
  }

  /** Tells {@code replyTo} how transition {@code transitionId} of {@code dpuId} ended (at once if it already has). */
  public record WatchTransition(String dpuId, String transitionId, ActorRef<TransitionOutcome> replyTo) implements Command {}

  public record TransitionOutcome(String transitionId, String dpuId, String outcome, String detail) {}

  record ModuleAdvance(String dpuId, String transitionId) implements Command {}

  record ModulePowerDone(String dpuId, String transitionId, StepResult result) implements Command {}

  record ModuleBootTimeout(String dpuId, String transitionId) implements Command {}

  /** A startup of a DPU that is administratively up asked it first: {@code listening} says whether it answered Listening. */
  record StartupChecked(ModuleCommand command, boolean listening, String seen) implements Command {}

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
  private final DpuTransport transport;
  private final HostActions host;
  private final Clock clock;
  private final Random random = new Random();
  // Transient, rebuilt after a restart: running links, buffered reports, what each DPU last said.
  private final Map<String, ActorRef<DpuLink.Command>> links = new HashMap<>();
  private final List<FromLink> pending = new ArrayList<>();
  private final Map<String, String> lastSeen = new HashMap<>();
  private final ModuleTransitions modules;
  private final OwnReboots own;
  private final UnplannedEvents unplanned;
  private final Escalations escalations;
  private final JournalWrites journal;
  private long linkSeq;

  private Coordinator(String persistenceId, ActorContext<Command> ctx, TimerScheduler<Command> timers, NpuSettings settings,
      DpuTransport transport, HostActions host, Clock clock) {
    super(PersistenceId.ofUniqueId(persistenceId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.transport = transport;
    this.host = host;
    this.clock = clock;
    this.journal = new JournalWrites(Effect(), () -> lastSequenceNumber(ctx));
    this.unplanned = new UnplannedEvents(ctx, settings, transport, clock, random, journal);
    this.own = new OwnReboots(ctx, timers, settings, transport, host, clock, random, journal, unplanned::settled);
    this.modules = new ModuleTransitions(ctx, timers, settings, transport, host, clock, random, lastSeen, journal, unplanned::settled);
    this.escalations = new Escalations(ctx, settings, host, clock);
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
        .onCommand(StartCampaign.class, this::onStart)
        .onCommand(GetStatus.class, (s, c) -> {
          c.replyTo().tell(StatusView.of(s, settings.dpus(), lastSeen, clock.millis(), lastSequenceNumber(ctx)));
          return Effect().none();
        })
        .onCommand(FromLink.class, this::onFromLink)
        .onCommand(Flush.class, (s, c) -> persistThenAdvance(drainPending(s)))
        .onCommand(Advance.class, this::onAdvance)
        .onCommand(PrepareFinished.class, this::onPrepareFinished)
        .onCommand(AckDeadlineReached.class, this::onAckDeadline)
        .onCommand(RebootActionFinished.class, this::onRebootActionFinished)
        .onCommand(RebootSettled.class, this::onRebootSettled)
        .onCommand(RunRebootAgain.class, this::onRunRebootAgain)
        .onCommand(DpuBootDeadline.class, this::onDpuBootDeadline)
        .onCommand(ModuleCommand.class, modules::onModule)
        .onCommand(CancelCampaign.class, this::onCancel)
        .onCommand(GetPlan.class, (s, c) -> {
          c.replyTo().tell(PlanView.of(s, settings, c.force()));
          return Effect().none();
        })
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
          if (state.current() != null) {
            ctx.getLog().info("[campaign={} dpu=all] recovered in phase {}; resuming", state.current().id(), state.phase().display());
          }
          enter(state, true);
          state.modules().values().stream().filter(m -> m.transition() != null).forEach(m -> {
            ctx.getLog().info("[campaign={} dpu={}] recovered module {} in phase {}; resuming", m.transition().id(), m.dpuId(),
                m.transition().kind(), m.transition().phase());
            modules.enter(state, m.dpuId(), true);
          });
          own.recover(state);
          unplanned.startWatching(state);
        })
        .build();
  }

  // ---- commands ----

  private Effect<CampaignEvent, CoordinatorState> onStart(CoordinatorState s, StartCampaign c) {
    if (s.phase() != Phase.IDLE) {
      c.replyTo().tell(new StartReply(false, s.current().id(), "campaign " + s.current().id() + " is in progress (phase "
          + s.phase().display() + "); not starting another"));
      return Effect().none();
    }
    String kind = c.kind().isBlank() ? "cold" : c.kind().trim().toLowerCase();
    if (!KINDS.contains(kind)) {
      c.replyTo().tell(new StartReply(false, "", "unknown reboot kind '" + c.kind() + "'; expected one of cold, warm, power-off"));
      return Effect().none();
    }
    List<String> busy = s.modules().values().stream().filter(m -> m.transition() != null)
        .map(m -> m.dpuId() + " (" + m.transition().kind() + " " + m.transition().id() + ", " + m.transition().phase() + ")").toList();
    if (!busy.isEmpty()) {
      c.replyTo().tell(new StartReply(false, "", "DPUs in a module transition: " + String.join(", ", busy)
          + "; the campaign would touch them, try again when they have finished"));
      return Effect().none();
    }
    List<String> rebooting = s.notices().values().stream().filter(n -> !s.down(n.dpuId()))
        .map(n -> n.dpuId() + " (" + n.describe() + ")").toList();
    if (!rebooting.isEmpty()) {
      c.replyTo().tell(new StartReply(false, "", "DPUs rebooting on their own: " + String.join(", ", rebooting)
          + "; try again when they are back (their wait is bounded by their hard deadline and boot wait)"));
      return Effect().none();
    }
    String reason = c.reason().isBlank() ? "operator request" : c.reason().trim();
    long now = clock.millis();
    String id = Ids.newId(random, "c", now);
    // A DPU shut down by `chassis module shutdown` is off: there is nothing to tell it.
    List<DpuEndpoint> dpus = settings.dpus().stream().filter(d -> !s.down(d.id())).toList();
    int leftOut = settings.dpus().size() - dpus.size();
    return journal.persist(new CampaignStarted(id, reason, kind, now, dpus, c.force()))
        .thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu=all] campaign started: kind={} reason='{}' dpus={}{}", id, kind, reason, dpus.size(),
              c.force() ? " (force: deferrals not honoured)" : "");
          c.replyTo().tell(new StartReply(true, id, "campaign " + id + " started for " + dpus.size() + " DPU(s)"
              + (leftOut > 0 ? " (" + leftOut + " administratively down, left out)" : "")));
          enter(next, false);
        });
  }

  private Effect<CampaignEvent, CoordinatorState> onFromLink(CoordinatorState s, FromLink r) {
    CoordinatorState.Transition t = s.transition(r.dpuId(), r.campaignId());
    if (t != null) {
      return modules.onReport(s, t, r);
    }
    if (!s.isCurrent(r.campaignId())) {
      ctx.getLog().info("[campaign={} dpu={}] ignoring a report for a campaign that is not in flight", r.campaignId(), r.dpuId());
      return Effect().none();
    }
    if (r.report() instanceof DpuLink.Seen seen) {
      lastSeen.put(r.dpuId(), seen.summary());
      return Effect().none();
    }
    if (pending.isEmpty()) {
      ctx.getSelf().tell(Flush.INSTANCE);
    }
    pending.add(r);
    return Effect().none();
  }

  private Effect<CampaignEvent, CoordinatorState> onAdvance(CoordinatorState s, Advance a) {
    Campaign c = s.current();
    long now = clock.millis();
    switch (s.phase()) {
      case NOTIFY_DPUS: {
        List<CampaignEvent> events = new ArrayList<>();
        events.add(new SignalsDispatched(c.id(), now + settings.ackDeadline().toMillis(), now,
            c.force() ? now : now + settings.negotiation().deferMaxTotal().toMillis()));
        if (c.kind().equals("warm")) {
          // Warm: the DPUs keep power. gNOI has no verb for "the host warm-reboots, clean up and stay up", so
          // gNOI DPUs are not halted; DPUs on the reboot-service protocol are told and run their tenant cleanup.
          c.dpus().values().stream().filter(d -> d.protocol().equals(DpuEndpoint.GNOI)).forEach(d -> {
            events.add(new DpuAcknowledged(c.id(), d.id(), 0, "NOT_SIGNALLED",
                "warm reboot: keeps power and keeps running (gNOI has no notice for a warm host reboot)", now, -1L));
            events.add(new DpuShutdownCompleted(c.id(), d.id(), false, "", now));
          });
        }
        return persistThenEnter(events);
      }
      case WAIT_FOR_ACKNOWLEDGMENTS:
        if (!c.allResolved()) {
          return Effect().none();
        }
        return persistThenEnter(List.of(c.allCompleted()
            ? new AcknowledgmentsCollected(c.id(), now)
            : new AcknowledgmentsMissing(c.id(), failures(c), false, now)));
      case ERROR_LOGGING: {
        List<CampaignEvent> issue = escalations.toIssue(c, now);
        if (!issue.isEmpty()) {
          return journal.persist(issue).thenRun(next -> issue.forEach(e -> escalations.run((CampaignEvent.DpuEscalated) e)));
        }
        if (Escalations.running(c)) {
          return Effect().none(); // force actions still running
        }
        return persistThenEnter(List.of(new RebootIssued(c.id(), host.describeReboot(c.kind()), now, host.bootId(), true)));
      }
      case PROCEED_WITH_REBOOT:
        return persistThenEnter(List.of(new RebootIssued(c.id(), host.describeReboot(c.kind()), now, host.bootId(), true)));
      case POST_REBOOT:
        return c.allBack() ? persistThenEnter(List.of(new CampaignFinished(c.id(), c.outcomeWith(notReady(c)), notReady(c), now)))
            : Effect().none();
      default:
        return Effect().none();
    }
  }

  private Effect<CampaignEvent, CoordinatorState> onPrepareFinished(CoordinatorState s, PrepareFinished p) {
    if (!s.isCurrent(p.campaignId()) || s.phase() != Phase.PREPARE_FOR_REBOOT) {
      return Effect().none();
    }
    return persistThenEnter(List.of(new PreRebootTasksDone(p.campaignId(), p.results(), clock.millis())));
  }

  private Effect<CampaignEvent, CoordinatorState> onAckDeadline(CoordinatorState s, AckDeadlineReached d) {
    if (!s.isCurrent(d.campaignId()) || s.phase() != Phase.WAIT_FOR_ACKNOWLEDGMENTS) {
      return Effect().none();
    }
    // Reports already queued count: they arrived before the deadline was handled.
    List<CampaignEvent> events = drainPending(s);
    CoordinatorState latest = applyAll(s, events);
    Campaign c = latest.current();
    long now = clock.millis();
    if (c.ackDeadline() > now) {
      // A deferral moved the deadline while this timer was on its way.
      armAt("ack-deadline", new AckDeadlineReached(c.id()), c.ackDeadline());
      return persistThenAdvance(events);
    }
    Map<String, String> protective = new LinkedHashMap<>();
    c.dpus().values().stream().filter(p -> !p.resolved() && p.isProtective()).forEach(p -> protective.put(p.id(), p.protective()));
    if (!protective.isEmpty() && !c.protectiveHold() && settings.negotiation().protectiveMaxWait().toMillis() > 0) {
      return holdForProtective(events, c, protective, now);
    }
    Map<String, String> missing = new LinkedHashMap<>(failures(c));
    for (DpuProgress dpu : c.dpus().values()) {
      if (!dpu.resolved()) {
        missing.put(dpu.id(), protective.containsKey(dpu.id())
            ? "still in protective state " + dpu.protective() + " at the cap (dpu-coordinator.npu.protective.max-wait "
                + settings.negotiation().protectiveMaxWait().toSeconds() + " s); policy: " + settings.negotiation().protectiveAtCap()
            : unfinishedReason(dpu));
      }
    }
    if (!protective.isEmpty()) {
      events.add(new CampaignEvent.ProtectiveCapReached(c.id(), protective, settings.negotiation().protectiveAtCap(), now));
      if (settings.negotiation().abortAtProtectiveCap()) {
        ctx.getLog().error("[campaign={} dpu={}] still in a protective state at the cap ({}); ABORTING the campaign "
            + "(dpu-coordinator.npu.protective.at-cap = abort): nothing is rebooted", c.id(), String.join(",", protective.keySet()), protective);
        return endEarly(events, c, "aborted: DPU(s) " + String.join(", ", protective.keySet()) + " still in a protective state at the cap",
            true, null);
      }
      ctx.getLog().error("[campaign={} dpu={}] still in a protective state at the cap ({}); PROCEEDING with the reboot anyway "
          + "(dpu-coordinator.npu.protective.at-cap = proceed)", c.id(), String.join(",", protective.keySet()), protective);
    }
    events.add(new AcknowledgmentsMissing(d.campaignId(), missing, true, now));
    return persistThenEnter(events);
  }

  /**
   * The deadline passed with DPUs in a protective state: those that are not protective and unfinished are
   * given up on now; the protective ones are waited for until protective.max-wait, touching nothing.
   */
  private Effect<CampaignEvent, CoordinatorState> holdForProtective(List<CampaignEvent> events, Campaign c, Map<String, String> protective,
      long now) {
    long holdUntil = now + settings.negotiation().protectiveMaxWait().toMillis();
    for (DpuProgress dpu : c.dpus().values()) {
      if (!dpu.resolved() && !protective.containsKey(dpu.id())) {
        events.add(new DpuGaveUp(c.id(), dpu.id(), unfinishedReason(dpu), now));
      }
    }
    events.add(new CampaignEvent.ProtectiveHold(c.id(), protective, holdUntil, now));
    return journal.persist(events).thenRun(next -> {
      ctx.getLog().warn("[campaign={} dpu={}] in a protective state at the ack deadline ({}); holding the campaign until {} "
          + "(dpu-coordinator.npu.protective.max-wait), nothing is powered off or reset meanwhile", c.id(),
          String.join(",", protective.keySet()), protective, Instant.ofEpochMilli(holdUntil));
      next.current().dpus().values().stream().filter(p -> p.status() == DpuStatus.FAILED && links.containsKey(p.id()))
          .forEach(p -> links.get(p.id()).tell(DpuLink.StopSignalling.INSTANCE));
      armAt("ack-deadline", new AckDeadlineReached(c.id()), holdUntil);
      ctx.getSelf().tell(Advance.INSTANCE);
    });
  }



  private Effect<CampaignEvent, CoordinatorState> onRebootActionFinished(CoordinatorState s, RebootActionFinished f) {
    if (!s.isCurrent(f.campaignId()) || s.phase() != Phase.REBOOT) {
      return Effect().none();
    }
    StepResult r = f.result();
    return journal.persist(new CampaignEvent.RebootActionReturned(f.campaignId(), r.ok(), r.detail(), clock.millis())).thenRun(next -> {
      if (!r.ok()) {
        ctx.getLog().error("[campaign={} dpu=all] reboot action failed: {}", f.campaignId(), r.detail());
        ctx.getSelf().tell(new RebootSettled(f.campaignId(), r));
      } else if (settings.reboot().returnAfter().isZero()) {
        ctx.getSelf().tell(new RebootSettled(f.campaignId(), r));
      } else {
        // A real reboot takes this process down before the pause ends; if we are still here, we go on.
        timers.startSingleTimer("reboot", new RebootSettled(f.campaignId(), r), settings.reboot().returnAfter());
      }
    });
  }

  private Effect<CampaignEvent, CoordinatorState> onRunRebootAgain(CoordinatorState s, RunRebootAgain a) {
    if (!s.isCurrent(a.campaignId()) || s.phase() != Phase.REBOOT || s.current().rebootAction().returned() != null) {
      return Effect().none();
    }
    return journal.persist(new CampaignEvent.RebootActionRerun(a.campaignId(), a.why(), a.bootId(), clock.millis())).thenRun(next -> {
      ctx.getLog().warn("[campaign={} dpu=all] {}: running the reboot action again ({} = run-again)", a.campaignId(), a.why(),
          NpuSettings.Reboot.AFTER_INTERRUPTION);
      runReboot(next.current());
    });
  }

  private void runReboot(Campaign c) {
    ctx.pipeToSelf(host.reboot(c.id(), c.kind()), (result, failure) -> new RebootActionFinished(c.id(),
        Failures.orFailed(result, failure, "reboot")));
  }

  private Effect<CampaignEvent, CoordinatorState> onRebootSettled(CoordinatorState s, RebootSettled r) {
    if (!s.isCurrent(r.campaignId()) || s.phase() != Phase.REBOOT) {
      return Effect().none();
    }
    long now = clock.millis();
    Map<String, Long> deadlines = new LinkedHashMap<>();
    s.current().dpus().keySet().forEach(id -> deadlines.put(id, now + settings.policy(id).bootWait().toMillis()));
    long latest = deadlines.values().stream().mapToLong(Long::longValue).max().orElse(now);
    return journal.persist(List.of(new RebootReturned(r.campaignId(), r.result().ok(), r.result().detail(), latest, now, deadlines)))
        .thenRun(next -> {
          host.rebootSettled(r.campaignId());
          enter(next, false);
        });
  }

  /** One DPU's own boot deadline: if it is not back, it is recorded unavailable and the campaign goes on. */
  private Effect<CampaignEvent, CoordinatorState> onDpuBootDeadline(CoordinatorState s, DpuBootDeadline d) {
    if (!s.isCurrent(d.campaignId()) || s.phase() != Phase.POST_REBOOT) {
      return Effect().none();
    }
    List<CampaignEvent> events = drainPending(s);
    DpuProgress dpu = applyAll(s, events).current().dpus().get(d.dpuId());
    if (dpu == null || dpu.ready() || !dpu.notReady().isEmpty()) {
      return persistThenAdvance(events);
    }
    NpuSettings.DpuPolicy policy = settings.policy(d.dpuId());
    String seen = lastSeen.get(d.dpuId());
    String reason = "not Listening within its boot wait (" + policy.bootWait().toSeconds() + " s)"
        + (policy.required() ? "; a required DPU" : "") + (seen == null ? "" : "; last seen: " + seen);
    if (policy.required()) {
      ctx.getLog().error("[campaign={} dpu={}] {}", d.campaignId(), d.dpuId(), reason);
    } else {
      ctx.getLog().warn("[campaign={} dpu={}] {}; marked unavailable, going on", d.campaignId(), d.dpuId(), reason);
    }
    ActorRef<DpuLink.Command> link = links.remove(d.dpuId());
    if (link != null) {
      ctx.stop(link);
    }
    events.add(new CampaignEvent.DpuNotReady(d.campaignId(), d.dpuId(), reason, clock.millis()));
    return persistThenAdvance(events);
  }

  private static Map<String, String> notReady(Campaign c) {
    Map<String, String> notReady = new LinkedHashMap<>();
    c.dpus().values().stream().filter(d -> !d.notReady().isEmpty()).forEach(d -> notReady.put(d.id(), d.notReady()));
    return notReady;
  }

  // ---- cancel ----

  private static final java.util.Set<Phase> CANCELLABLE =
      java.util.Set.of(Phase.PREPARE_FOR_REBOOT, Phase.NOTIFY_DPUS, Phase.WAIT_FOR_ACKNOWLEDGMENTS);

  private Effect<CampaignEvent, CoordinatorState> onCancel(CoordinatorState s, CancelCampaign c) {
    if (s.current() == null) {
      c.replyTo().tell(new StartReply(false, "", "no campaign is in flight"));
      return Effect().none();
    }
    if (!CANCELLABLE.contains(s.phase())) {
      c.replyTo().tell(new StartReply(false, s.current().id(), "campaign " + s.current().id() + " has reached phase "
          + s.phase().display() + "; it can only be cancelled before Reboot"));
      return Effect().none();
    }
    // Reports already queued count: they arrived before the cancel.
    List<CampaignEvent> events = drainPending(s);
    Campaign camp = applyAll(s, events).current();
    return endEarly(events, camp, c.reason().isBlank() ? "operator request" : c.reason().trim(), false, c.replyTo());
  }

  /**
   * Ends a campaign before Reboot (cancelled by the operator, or aborted at the protective cap): each DPU
   * with what became of it; halted DPUs are restarted through module transitions if so configured.
   */
  private Effect<CampaignEvent, CoordinatorState> endEarly(List<CampaignEvent> events, Campaign camp, String reason, boolean aborted,
      ActorRef<StartReply> replyTo) {
    long now = clock.millis();
    Map<String, String> outcomes = new LinkedHashMap<>();
    List<CampaignEvent> restarts = new ArrayList<>();
    for (DpuProgress d : camp.dpus().values()) {
      outcomes.put(d.id(), switch (d.status()) {
        case PENDING -> "not signalled" + (d.attempts() > 0 ? " (no acknowledgment yet)" : "");
        case FAILED -> "no graceful shutdown: " + d.error();
        case ACKNOWLEDGED -> "was shutting down; left to finish (it stays halted until restarted)";
        case SHUTDOWN_COMPLETE -> {
          if (!settings.restartHaltedOnCancel()) {
            yield "left halted (dpu-coordinator.npu.cancel.restart-halted = false)";
          }
          if (!d.protocol().equals(DpuEndpoint.GNOI)) {
            yield "left halted: the seed's protocol cannot restart a DPU; use `chassis module startup`";
          }
          String id = Ids.newId(random, "m", now);
          restarts.add(new CampaignEvent.ModuleTransitionStarted(id, d.endpoint(), "cold",
              "restart after cancelled campaign " + camp.id(), now));
          yield "halted; restarting with a gNOI COLD reboot (module transition " + id + ")";
        }
      });
    }
    events.add(new CampaignEvent.CampaignCancelled(camp.id(), reason, outcomes, now, aborted));
    events.addAll(restarts);
    return journal.persist(events).thenRun(next -> {
      ctx.getLog().warn("[campaign={} dpu=all] campaign {} ({}): {}", camp.id(), aborted ? "aborted" : "cancelled", reason, outcomes);
      long restarting = restarts.size();
      StringBuilder perDpu = new StringBuilder();
      outcomes.forEach((dpu, outcome) -> perDpu.append("\n  ").append(dpu).append(": ").append(outcome));
      if (replyTo != null) {
        replyTo.tell(new StartReply(true, camp.id(), "campaign " + camp.id() + " cancelled; " + restarting
            + " halted DPU(s) restarting" + perDpu));
      }
      enter(next, false);
      restarts.forEach(e -> modules.enter(next, ((CampaignEvent.ModuleTransitionStarted) e).dpu().id(), false));
    });
  }



  // ---- link reports ----

  /** Turns the buffered reports into the events they justify; duplicates and late ones justify none. */
  private List<CampaignEvent> drainPending(CoordinatorState s) {
    List<CampaignEvent> events = new ArrayList<>();
    CoordinatorState latest = s;
    for (FromLink r : pending) {
      CampaignEvent e = toEvent(latest, r);
      if (e == null) {
        ctx.getLog().info("[campaign={} dpu={}] late or duplicate report ignored: {}", r.campaignId(), r.dpuId(), r.report());
      } else {
        events.add(e);
        latest = latest.apply(e, settings.historyPerDpu(), settings.recentCampaigns());
      }
    }
    pending.clear();
    return events;
  }

  private CampaignEvent toEvent(CoordinatorState s, FromLink r) {
    DpuProgress d = s.isCurrent(r.campaignId()) ? s.current().dpus().get(r.dpuId()) : null;
    if (d == null) {
      return null;
    }
    long now = clock.millis();
    boolean waiting = s.phase() == Phase.WAIT_FOR_ACKNOWLEDGMENTS;
    DpuLink.Report report = r.report();
    if (report instanceof DpuLink.Acknowledged a && waiting && d.status() == DpuStatus.PENDING) {
      return new DpuAcknowledged(r.campaignId(), r.dpuId(), a.attempt(), a.reply().disposition(), a.reply().ack(), now,
          a.reply().countBefore());
    } else if (report instanceof DpuLink.AttemptFailed f && waiting && d.status() == DpuStatus.PENDING) {
      return new SignalAttemptFailed(r.campaignId(), r.dpuId(), f.attempt(), f.reason(), now);
    } else if (report instanceof DpuLink.GaveUp g && waiting && !d.resolved()) {
      return new DpuGaveUp(r.campaignId(), r.dpuId(), g.reason(), now);
    } else if (report instanceof DpuLink.Completed c && waiting && !d.resolved()) {
      return new DpuShutdownCompleted(r.campaignId(), r.dpuId(), c.degraded(), c.detail(), now);
    } else if (report instanceof DpuLink.Ready && s.phase() == Phase.POST_REBOOT && !d.ready()) {
      return new DpuReady(r.campaignId(), r.dpuId(), now);
    } else if (report instanceof DpuLink.Deferred df && waiting && d.status() == DpuStatus.PENDING) {
      long deadline = df.honouredUntil() + settings.perDpuBudget().toMillis();
      return new CampaignEvent.DpuDeferred(r.campaignId(), r.dpuId(), df.reason(), df.requestedUntil(), df.honouredUntil(), deadline, now);
    } else if (report instanceof DpuLink.ProtectiveChanged p && waiting && !d.resolved()
        && !p.state().equals(d.protective())) {
      return new CampaignEvent.DpuProtective(r.campaignId(), r.dpuId(), p.state(), now);
    }
    return null;
  }

  // ---- phases ----

  /**
   * The side effects of being in a phase; after a restart {@code recovered} is true. Links live from
   * WaitForAcknowledgments to the end of the campaign, watching their DPU throughout.
   */
  private void enter(CoordinatorState s, boolean recovered) {
    Campaign c = s.current();
    if (s.phase() == Phase.IDLE) {
      stopLinks(); // the campaign is over: its links end here
    } else if (s.phase() != Phase.WAIT_FOR_ACKNOWLEDGMENTS) {
      timers.cancel("ack-deadline");
      links.values().forEach(link -> link.tell(DpuLink.StopSignalling.INSTANCE));
    }
    if (c != null && !recovered) {
      ctx.getLog().info("[campaign={} dpu=all] phase -> {}", c.id(), s.phase().display());
    }
    unplanned.campaignPhase(s.phase());
    switch (s.phase()) {
      case IDLE:
        timers.cancel("ack-deadline");
        timers.cancel("reboot");
        if (s.last() != null) {
          s.last().dpus().keySet().forEach(id -> timers.cancel("boot-wait-" + id));
        }
        if (s.last() != null && !recovered) {
          ctx.getLog().info("[campaign={} dpu=all] campaign finished: {}", s.last().id(), s.last().outcome());
        }
        lastSeen.clear();
        break;
      case PREPARE_FOR_REBOOT:
        ctx.pipeToSelf(host.prepare(c.id()), (results, failure) -> new PrepareFinished(c.id(),
            Failures.orFailed(results, failure, "pre-reboot-tasks")));
        break;
      case NOTIFY_DPUS:
      case PROCEED_WITH_REBOOT:
        ctx.getSelf().tell(Advance.INSTANCE);
        break;
      case ERROR_LOGGING:
        if (recovered) {
          escalations.recover(c);
        } else {
          c.dpus().values().stream().filter(d -> d.status() == DpuStatus.FAILED).forEach(d ->
              ctx.getLog().error("[campaign={} dpu={}] no graceful shutdown: {}; proceeding with reboot", c.id(), d.id(), d.error()));
        }
        ctx.getSelf().tell(Advance.INSTANCE);
        break;
      case WAIT_FOR_ACKNOWLEDGMENTS:
        armAt("ack-deadline", new AckDeadlineReached(c.id()), c.ackDeadline());
        SignalRequest request = new SignalRequest(c.id(), c.kind(), c.reason(), c.ackDeadline(), "", c.force());
        for (DpuProgress d : c.dpus().values()) {
          if (!d.resolved() && (recovered || !links.containsKey(d.id()))) {
            startLink(d, new DpuLink.Start(c.id(), DpuLink.Mode.SHUTDOWN, request, d.status() == DpuStatus.ACKNOWLEDGED, d.attempts(),
                c.deferCapAt(), d.countBefore()));
          }
        }
        ctx.getSelf().tell(Advance.INSTANCE);
        break;
      case REBOOT:
        if (!recovered) {
          runReboot(c);
          break;
        }
        RebootRecovery next = RebootRecovery.decide(c, host.bootId(), host.rebootReturnedWhileDown(c.id()),
            settings.reboot().runInterruptedAgain());
        if (next instanceof RebootRecovery.RunAgain again) {
          ctx.getSelf().tell(new RunRebootAgain(c.id(), again.why(), again.bootId()));
        } else if (next instanceof RebootRecovery.Settle settle) {
          ctx.getLog().info("[campaign={} dpu=all] recovered in Reboot: {}", c.id(), settle.result().detail());
          ctx.getSelf().tell(new RebootSettled(c.id(), settle.result()));
        }
        break;
      case POST_REBOOT:
        for (DpuProgress d : c.dpus().values()) {
          ActorRef<DpuLink.Command> link = links.get(d.id());
          if (d.ready() || !d.notReady().isEmpty()) {
            continue;
          }
          armAt("boot-wait-" + d.id(), new DpuBootDeadline(c.id(), d.id()), c.bootDeadline(d.id()));
          if (link != null) {
            link.tell(DpuLink.AwaitReady.INSTANCE);
          } else {
            startLink(d, new DpuLink.Start(c.id(), DpuLink.Mode.READY, null, true, d.attempts()));
          }
        }
        ctx.getSelf().tell(Advance.INSTANCE);
        break;
    }
  }

  private void startLink(DpuProgress d, DpuLink.Start start) {
    ActorRef<DpuLink.Command> old = links.remove(d.id());
    if (old != null) {
      ctx.stop(old);
    }
    Behavior<DpuLink.Command> link = DpuLink.create(d.endpoint(), start, transport, settings, ctx.getSelf(), random, clock);
    links.put(d.id(), ctx.spawn(link, Ids.actorName("link", d.id(), linkSeq++)));
  }

  private void stopLinks() {
    links.values().forEach(ctx::stop);
    links.clear();
  }

  private void armAt(String key, Command message, long deadlineMillis) {
    armAt(timers, clock, key, message, deadlineMillis);
  }

  /** A timer for the time left until an absolute (journaled) deadline; at once if it has passed. */
  static void armAt(TimerScheduler<Command> timers, Clock clock, String key, Command message, long deadlineMillis) {
    long left = Math.max(0, deadlineMillis - clock.millis());
    timers.startSingleTimer(key, message, Duration.ofMillis(left));
  }

  private Effect<CampaignEvent, CoordinatorState> persistThenEnter(List<CampaignEvent> events) {
    return journal.persist(events).thenRun(next -> enter(next, false));
  }

  private Effect<CampaignEvent, CoordinatorState> persistThenAdvance(List<CampaignEvent> events) {
    if (events.isEmpty()) {
      return Effect().none();
    }
    return journal.persist(events).thenRun(next -> ctx.getSelf().tell(Advance.INSTANCE));
  }

  private CoordinatorState applyAll(CoordinatorState s, List<CampaignEvent> events) {
    CoordinatorState latest = s;
    for (CampaignEvent e : events) {
      latest = latest.apply(e, settings.historyPerDpu(), settings.recentCampaigns());
    }
    return latest;
  }

  private static Map<String, String> failures(Campaign c) {
    Map<String, String> failed = new LinkedHashMap<>();
    c.dpus().values().stream().filter(d -> d.status() == DpuStatus.FAILED).forEach(d -> failed.put(d.id(), d.error()));
    return failed;
  }

  private String unfinishedReason(DpuProgress d) {
    String seen = lastSeen.get(d.id());
    String base = d.status() == DpuStatus.ACKNOWLEDGED
        ? "acknowledged but did not report shutdown complete before the deadline"
        : "no acknowledgment before the deadline" + (d.error().isEmpty() ? "" : "; last error: " + d.error());
    return base + (seen == null ? "" : "; last seen: " + seen);
  }
}
