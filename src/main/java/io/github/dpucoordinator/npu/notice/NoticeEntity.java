package io.github.dpucoordinator.npu.notice;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.dpu.DpuActor;
import io.github.dpucoordinator.npu.dpu.DpuFleet;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.journal.JournalHealth;
import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootAnswered;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootFinished;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootNoticed;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootPostponedOnDpu;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Decision;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.GoingReceived;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.GoingReply;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.NoticeReceived;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.NoticeReply;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.PostponedOnDpu;
import io.github.dpucoordinator.npu.settings.NegotiationSettings;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.pekko.Done;
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
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * Reboots DPUs announce themselves (R1-R4), and changes nobody planned (R14), as an event-sourced entity of their own.
 *
 * <p>A DPU announces a reboot with a notice (reason, planned time, hard deadline). The NPU runs its
 * pre-DPU-reboot hooks and answers ACK, or POSTPONE until a time when a hook says "not yet" (exit code
 * {@code dpu-reboot.postpone-exit-code}) or the DPU is busy in an NPU campaign or module transition (the chassis says
 * so with the notice: {@link Announce#busy}). Postponements stop at {@code dpu-reboot.max-postpone-total} from the
 * planned time and never pass the hard deadline; a hook that fails otherwise never holds the DPU. Every notice and
 * answer is journaled before the DPU hears it, so a restarted service answers the next round from the same deadlines.
 * When the DPU goes (it says so, or its hard deadline passes) it is expected back within its boot wait, and the reboot
 * goes into its history as planned. A change the chassis found nobody planned is recorded with {@link Unplanned}.
 */
public final class NoticeEntity extends EventSourcedBehavior<Command, NoticeEvent, NoticeBook> implements NoticeProtocol {
  public static final String PERSISTENCE_ID = "npu-notices";

  /** The hooks of one round finished. */
  record HooksDone(String dpuId, String noticeId, int round, List<StepResult> results) implements Command {}

  /** A notice's hard deadline (plus slack) passed: if the DPU has not said it went, it went. */
  record HardDeadline(String dpuId, String noticeId) implements Command {}

  /** The DPU was expected back by now. */
  record BackBy(String dpuId, String noticeId) implements Command {}

  /** A DPU that rebooted on its own is Listening again. */
  record Back(String dpuId, String noticeId, String detail) implements Command {}

  public static Behavior<Command> create(String persistenceId, NpuSettings settings, DpuTransport transport,
      Map<String, ActorRef<DpuActor.Command>> actors, HostActions host, Clock clock, ActorRef<NoticeBook> view) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new NoticeEntity(persistenceId, ctx, timers, settings, transport, actors, host, clock, view)));
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final NpuSettings settings;
  private final DpuFleet<Command> fleet;
  private final HostActions host;
  private final Clock clock;
  private final Random random = new Random();
  private final ActorRef<NoticeBook> view;
  private final JournalWrites<NoticeEvent, NoticeBook> journal;
  // Transient: who waits for the answer of a round whose hooks are running.
  private final Map<String, List<ActorRef<NoticeReply>>> waiting = new HashMap<>();
  private final NoticeReturns returns;

  private NoticeEntity(String persistenceId, ActorContext<Command> ctx, TimerScheduler<Command> timers, NpuSettings settings,
      DpuTransport transport, Map<String, ActorRef<DpuActor.Command>> actors, HostActions host, Clock clock, ActorRef<NoticeBook> view) {
    super(PersistenceId.ofUniqueId(persistenceId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.host = host;
    this.clock = clock;
    this.view = view;
    this.fleet = new DpuFleet<>(ctx, actors, transport, settings, random, clock, r -> new Back(r.dpuId(), "", ""),
        r -> new Back(r.dpuId(), r.noticeId(), r.detail()));
    this.journal = new JournalWrites<>(Effect(), () -> lastSequenceNumber(ctx), view::tell,
        JournalHealth.get(ctx.getSystem()).of(persistenceId));
    this.returns = new NoticeReturns(ctx, timers, settings, fleet, clock, journal);
  }

  private NegotiationSettings n() {
    return settings.negotiation();
  }

  @Override
  public NoticeBook emptyState() {
    return NoticeBook.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  @Override
  public CommandHandler<Command, NoticeEvent, NoticeBook> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Announce.class, this::onAnnounce)
        .onCommand(HooksDone.class, this::onHooksDone)
        .onCommand(GoingReceived.class, returns::onGoing)
        .onCommand(PostponedOnDpu.class, this::onPostponedOnDpu)
        .onCommand(HardDeadline.class, returns::onHardDeadline)
        .onCommand(Back.class, returns::onBack)
        .onCommand(BackBy.class, returns::onBackBy)
        .onCommand(Unplanned.class, this::onUnplanned)
        .onCommand(Adopt.class, this::onAdopt)
        .onCommand(GetBook.class, (s, g) -> {
          g.replyTo().tell(new Book(s, lastSequenceNumber(ctx)));
          return journal.none();
        })
        .build();
  }

  @Override
  public EventHandler<NoticeBook, NoticeEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((state, event) -> state.apply(event, settings.historyPerDpu()));
  }

  @Override
  public SignalHandler<NoticeBook> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(org.apache.pekko.persistence.typed.RecoveryFailed.class, (state, failed) -> journal.recoveryFailed(failed))
        .onSignal(RecoveryCompleted.instance(), state -> {
          journal.recovered();
          view.tell(state);
          returns.recover(state);
        })
        .build();
  }

  private Effect<NoticeEvent, NoticeBook> onAdopt(NoticeBook s, Adopt a) {
    return journal.adoptOnce(s.adopted(), new NoticeEvent.LegacyAdopted("legacy", a.notices(), clock.millis()), a.replyTo(), next -> {
      ctx.getLog().info("[campaign=legacy dpu=all] took over {} DPU-initiated reboot(s) from the coordinator's journal", a.notices().size());
      returns.recover(next);
    });
  }


  private Effect<NoticeEvent, NoticeBook> onUnplanned(NoticeBook s, Unplanned u) {
    String id = Ids.newId(random, "u", clock.millis());
    return journal.persist(new NoticeEvent.UnplannedEvent(id, u.dpuId(), u.what(), u.detail(), clock.millis())).thenRun(next ->
        ctx.getLog().warn("[campaign={} dpu={}] unplanned: the DPU {} ({}); recorded in its history", id, u.dpuId(), u.what(), u.detail()));
  }


  // ---- notices ----

  private Effect<NoticeEvent, NoticeBook> onAnnounce(NoticeBook s, Announce a) {
    EffectBuilder<NoticeEvent, NoticeBook> effect = onNotice(s, a.notice(), a.busy());
    // the chassis admits nothing else until this notice is journaled (or refused)
    return effect.thenRun(next -> a.admitted().tell(Done.getInstance()));
  }

  private EffectBuilder<NoticeEvent, NoticeBook> onNotice(NoticeBook s, NoticeReceived c, String busy) {
    if (settings.dpu(c.dpuId()).isEmpty()) {
      String error = "unknown DPU '" + c.dpuId() + "'; configured: " + String.join(", ", settings.dpus().stream().map(DpuEndpoint::id).toList());
      ctx.getLog().warn("[campaign={} dpu={}] reboot notice rejected: {}", c.noticeId(), c.dpuId(), error);
      c.replyTo().tell(NoticeReply.error(error));
      return journal.none();
    }
    if (c.noticeId().isBlank() || c.hardDeadline() <= 0) {
      c.replyTo().tell(NoticeReply.error("a notice needs a notice_id and a hard deadline"));
      return journal.none();
    }
    long now = clock.millis();
    List<NoticeEvent> events = new ArrayList<>();
    Notice old = s.notices().get(c.dpuId());
    if (old != null && !old.id().equals(c.noticeId())) {
      events.add(new DpuRebootFinished(old.id(), c.dpuId(), "superseded", "notice " + c.noticeId() + " arrived before this one ended", now));
    } else if (old != null && old.going()) {
      c.replyTo().tell(new NoticeReply("", Decision.ACK, 0, "already recorded as going (" + old.why() + ")", n().identity()));
      return journal.none();
    } else if (old != null && c.round() <= old.round() && old.decision() != null) {
      // The same round again (the DPU did not get our answer): the same answer.
      c.replyTo().tell(new NoticeReply("", old.decision(), old.postponedUntil(), old.answer(), n().identity()));
      return journal.none();
    }
    String key = c.dpuId() + "/" + c.noticeId() + "/" + c.round();
    if (waiting.containsKey(key)) {
      waiting.get(key).add(c.replyTo());
      return journal.none();
    }
    waiting.put(key, new ArrayList<>(List.of(c.replyTo())));
    events.add(new DpuRebootNoticed(c.noticeId(), c.dpuId(), c.reason(), c.planned(), c.hardDeadline(), c.round(), now));
    return journal.persist(events).thenRun(next -> {
      ctx.getLog().info("[campaign={} dpu={}] DPU announces its own reboot, round {}: reason '{}', planned {}, hard deadline {}",
          c.noticeId(), c.dpuId(), c.round(), c.reason(), Instant.ofEpochMilli(c.planned()), Instant.ofEpochMilli(c.hardDeadline()));
      if (old == null || !old.id().equals(c.noticeId())) {
        returns.armHardDeadline(next.notices().get(c.dpuId()));
      }
      if (busy != null) {
        ctx.getSelf().tell(new HooksDone(c.dpuId(), c.noticeId(), c.round(),
            List.of(new StepResult("busy", false, "exit " + n().postponeExitCode() + ": " + busy, 0, n().postponeExitCode()))));
      } else {
        ctx.pipeToSelf(host.dpuRebootHooks(c.noticeId(), c.dpuId()), (results, failure) -> new HooksDone(c.dpuId(), c.noticeId(), c.round(),
            Failures.orFailed(results, failure, "hooks")));
      }
    });
  }

  private Effect<NoticeEvent, NoticeBook> onHooksDone(NoticeBook s, HooksDone h) {
    List<ActorRef<NoticeReply>> repliers = waiting.remove(h.dpuId() + "/" + h.noticeId() + "/" + h.round());
    Notice notice = s.notice(h.dpuId(), h.noticeId());
    if (notice == null || repliers == null) {
      return journal.none();
    }
    long now = clock.millis();
    NoticeAnswer a = NoticeAnswer.of(notice, h.results(), now, n());
    return journal.persist(new DpuRebootAnswered(h.noticeId(), h.dpuId(), a.decision(), a.until(), a.detail(), now)).thenRun(next -> {
      if (a.decision() == Decision.ACK) {
        ctx.getLog().info("[campaign={} dpu={}] answered ACK: {}", h.noticeId(), h.dpuId(), a.detail());
      } else {
        ctx.getLog().info("[campaign={} dpu={}] answered POSTPONE until {}: {}", h.noticeId(), h.dpuId(), Instant.ofEpochMilli(a.until()),
            a.detail());
      }
      a.broken().forEach(b -> ctx.getLog().warn("[campaign={} dpu={}] pre-DPU-reboot hook {}", h.noticeId(), h.dpuId(), b));
      repliers.forEach(r -> r.tell(new NoticeReply("", a.decision(), a.until(), a.detail(), n().identity())));
    });
  }

  /** Someone on the DPU postponed its reboot: the notice shows until when and by whom. */
  private Effect<NoticeEvent, NoticeBook> onPostponedOnDpu(NoticeBook s, PostponedOnDpu p) {
    Notice notice = s.notice(p.dpuId(), p.noticeId());
    if (notice == null || notice.going()) {
      p.replyTo().tell(new GoingReply(false, notice == null ? "no notice " + p.noticeId() + " of " + p.dpuId() + " is open here"
          : "notice " + p.noticeId() + " is already recorded as going", 0));
      return journal.none();
    }
    return journal.persist(new DpuRebootPostponedOnDpu(p.noticeId(), p.dpuId(), p.untilMillis(), p.by(), p.reason(),
        clock.millis())).thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu={}] postponed on the DPU by {} until {}", p.noticeId(), p.dpuId(), p.by(),
              Instant.ofEpochMilli(p.untilMillis()));
          p.replyTo().tell(new GoingReply(true, "recorded", 0));
        });
  }
}
