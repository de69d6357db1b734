package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.dpu.DpuActor;
import io.github.dpucoordinator.npu.dpu.DpuFleet;
import io.github.dpucoordinator.npu.dpu.LinkReport;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.journal.JournalHealth;
import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.ModuleCommand;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.StartReply;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.TransitionOutcome;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.WatchTransition;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
 * Single-DPU (module) transitions as an event-sourced entity of their own: `chassis module shutdown|startup`,
 * named-pipe halt/cold/warm requests, and the restarts of DPUs a cancelled campaign left halted. One transition per
 * DPU; each phase (HALTING, POWERING_OFF, POWERING_ON, WAITING_FOR_BOOT) is journaled, and {@link ModuleWork#enter} runs its side
 * effects again after a restart. Whether a transition may start at all while a campaign is in flight is the chassis'
 * rule, not this entity's: it checks the DPU, the kind and the transition in flight.
 */
public final class ModuleEntity extends EventSourcedBehavior<Command, ModuleEvent, ModuleBook> implements ModuleProtocol {
  public static final String PERSISTENCE_ID = "npu-modules";

  /** What the DPU's actor reports about the work of transition {@code workId}. */
  record Report(String workId, String dpuId, LinkReport report) implements Command {}

  record Advance(String dpuId, String transitionId) implements Command {}

  record PowerDone(String dpuId, String transitionId, StepResult result) implements Command {}

  record BootTimeout(String dpuId, String transitionId) implements Command {}

  /** A startup of a DPU that is administratively up asked it first: {@code listening} says whether it answered Listening. */
  record StartupChecked(ModuleCommand command, boolean listening, String seen) implements Command {}

  public static Behavior<Command> create(String persistenceId, NpuSettings settings, DpuTransport transport,
      Map<String, ActorRef<DpuActor.Command>> actors, HostActions host, Clock clock, ActorRef<ModuleBook> view) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new ModuleEntity(persistenceId, ctx, timers, settings, transport, actors, host, clock, view)));
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final NpuSettings settings;
  private final DpuFleet<Command> fleet;
  private final HostActions host;
  private final Clock clock;
  private final Random random = new Random();
  private final ActorRef<ModuleBook> view;
  private final JournalWrites<ModuleEvent, ModuleBook> journal;
  /** What each DPU last said while in a transition (its reasons use it). */
  private final Map<String, String> lastSeen = new HashMap<>();
  private final ModuleWork work;
  // Transient: who waits for a transition's end.
  private final Map<String, List<ActorRef<TransitionOutcome>>> transitionWatchers = new HashMap<>();

  private ModuleEntity(String persistenceId, ActorContext<Command> ctx, TimerScheduler<Command> timers, NpuSettings settings,
      DpuTransport transport, Map<String, ActorRef<DpuActor.Command>> actors, HostActions host, Clock clock, ActorRef<ModuleBook> view) {
    super(PersistenceId.ofUniqueId(persistenceId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.host = host;
    this.clock = clock;
    this.view = view;
    this.fleet = new DpuFleet<>(ctx, actors, transport, settings, random, clock, r -> new Report(r.workId(), r.dpuId(), r.report()), null);
    this.journal = new JournalWrites<>(Effect(), () -> lastSequenceNumber(ctx), view::tell,
        JournalHealth.get(ctx.getSystem()).of(persistenceId));
    this.work = new ModuleWork(ctx, timers, fleet, clock);
  }

  @Override
  public ModuleBook emptyState() {
    return ModuleBook.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  @Override
  public CommandHandler<Command, ModuleEvent, ModuleBook> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(ModuleCommand.class, this::onModule)
        .onCommand(StartupChecked.class, this::onStartupChecked)
        .onCommand(Restart.class, this::onRestart)
        .onCommand(Report.class, this::onReport)
        .onCommand(Advance.class, this::onAdvance)
        .onCommand(PowerDone.class, this::onPowerDone)
        .onCommand(BootTimeout.class, this::onBootTimeout)
        .onCommand(WatchTransition.class, this::onWatchTransition)
        .onCommand(Adopt.class, this::onAdopt)
        .onCommand(GetBook.class, (s, g) -> {
          g.replyTo().tell(new Book(s, Map.copyOf(lastSeen), lastSequenceNumber(ctx)));
          return journal.none();
        })
        .build();
  }

  @Override
  public EventHandler<ModuleBook, ModuleEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((state, event) -> state.apply(event, settings.historyPerDpu()));
  }

  @Override
  public SignalHandler<ModuleBook> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(org.apache.pekko.persistence.typed.RecoveryFailed.class, (state, failed) -> journal.recoveryFailed(failed))
        .onSignal(RecoveryCompleted.instance(), state -> {
          journal.recovered();
          view.tell(state);
          fleet.renew();
          resumeAll(state);
        })
        .build();
  }

  /** Every transition in flight goes on (after a restart, or once adopted). */
  private void resumeAll(ModuleBook state) {
    state.modules().values().stream().filter(m -> m.transition() != null).forEach(m -> {
      ctx.getLog().info("[campaign={} dpu={}] recovered module {} in phase {}; resuming", m.transition().id(), m.dpuId(),
          m.transition().kind(), m.transition().phase());
      work.enter(state, m.dpuId(), true);
    });
  }

  private Effect<ModuleEvent, ModuleBook> onAdopt(ModuleBook s, Adopt a) {
    return journal.adoptOnce(s.adopted(), new ModuleEvent.LegacyAdopted("legacy", a.modules(), clock.millis()), a.replyTo(), next -> {
      ctx.getLog().info("[campaign=legacy dpu=all] took over {} module(s) from the coordinator's journal", a.modules().size());
      resumeAll(next);
    });
  }


  private Effect<ModuleEvent, ModuleBook> onRestart(ModuleBook s, Restart r) {
    ModuleState m = s.modules().get(r.dpu().id());
    if (s.started(r.dpu().id(), r.transitionId())) {
      return journal.none(); // started already: by its id, whatever the clock says
    }
    if (m != null && (m.transition() != null || m.lastChange() >= r.atMillis())) {
      return journal.none(); // something newer happened to the DPU since the cancel
    }
    return journal.persist(new ModuleEvent.ModuleTransitionStarted(r.transitionId(), r.dpu(), ModuleKind.COLD, r.reason(), clock.millis()))
        .thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu={}] module cold started: reason='{}'", r.transitionId(), r.dpu().id(), r.reason());
          work.enter(next, r.dpu().id(), false);
        });
  }


  private Effect<ModuleEvent, ModuleBook> onModule(ModuleBook s, ModuleCommand c) {
    StartReply refused = ModuleRequests.refusal(s, c, settings);
    if (refused != null) {
      c.replyTo().tell(refused);
      return journal.none();
    }
    DpuEndpoint dpu = settings.dpu(c.dpuId()).orElseThrow();
    boolean down = s.down(dpu.id());
    ModuleKind kind = c.kind();
    if (!c.force() && kind == ModuleKind.STARTUP && !down) {
      // Up as far as the NPU knows, but it may be halted (a cancelled campaign leaves DPUs so): ask it first, within
      // the request's admission, so well inside npu.admin.ask-timeout
      Duration ask = settings.signal().rpcTimeout().compareTo(settings.admin().askTimeout().dividedBy(2)) < 0
          ? settings.signal().rpcTimeout() : settings.admin().askTimeout().dividedBy(2);
      fleet.observe(dpu, ask, a -> new StartupChecked(c, a.observation() != null && a.observation().listening(),
          a.observation() != null ? a.observation().state().name() : "not answering: " + Failures.describe(a.failure())));
      return journal.none();
    }
    long now = clock.millis();
    String id = Ids.newId(random, "m", now);
    String reason = c.reason().isBlank() ? "operator request" : c.reason().trim();
    return journal.persist(new ModuleEvent.ModuleTransitionStarted(id, dpu, kind, reason, now))
        .thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu={}] module {} started: reason='{}'", id, dpu.id(), c.kind(), reason);
          c.replyTo().tell(new StartReply(true, id, "module " + c.kind() + " " + id + " of " + dpu.id() + " started"));
          work.enter(next, dpu.id(), false);
        });
  }

  /** A startup of an administratively up DPU: nothing to do if it answers Listening, else the startup runs. */
  private Effect<ModuleEvent, ModuleBook> onStartupChecked(ModuleBook s, StartupChecked checked) {
    ModuleCommand c = checked.command();
    if (checked.listening()) {
      c.replyTo().tell(new StartReply(true, "", c.dpuId() + " is already up (administratively up, and answering: Listening); "
          + "nothing done (--force runs the startup anyway)"));
      return journal.none();
    }
    ctx.getLog().info("[campaign=none dpu={}] administratively up but {}: starting it up", c.dpuId(), checked.seen());
    return onModule(s, new ModuleCommand(c.dpuId(), c.kind(), c.reason(), true, c.replyTo()));
  }

  private Effect<ModuleEvent, ModuleBook> onReport(ModuleBook s, Report r) {
    Transition t = s.transition(r.dpuId(), r.workId());
    if (t == null) {
      return journal.none();
    }
    if (r.report() instanceof LinkReport.Seen seen) {
      lastSeen.put(r.dpuId(), seen.summary());
      return journal.none();
    }
    ModuleEvent next = ModuleSteps.fromReport(t, r.dpuId(), r.report(), clock.millis());
    if (next instanceof ModuleEvent.ModuleHalted h && !h.ok()) {
      ctx.getLog().error("[campaign={} dpu={}] module halt failed: {}; powering off anyway", t.id(), r.dpuId(), h.detail());
    } else if (next instanceof ModuleEvent.ModuleTransitionFinished f && f.outcome().equals("refused")) {
      ctx.getLog().warn("[campaign={} dpu={}] module {} refused: {}", t.id(), r.dpuId(), t.kind(), f.detail());
    }
    return next == null ? journal.none() : step(next);
  }

  private Effect<ModuleEvent, ModuleBook> onAdvance(ModuleBook s, Advance a) {
    Transition t = s.transition(a.dpuId(), a.transitionId());
    if (t == null || t.phase() == Transition.Step.HALTING || t.phase() == Transition.Step.WAITING_FOR_BOOT) {
      return journal.none();
    }
    if (t.powerIssued()) {
      return step(ModuleSteps.afterRestart(t, a.dpuId(), clock.millis(), settings.module().bootWait().toMillis()));
    }
    boolean shutdown = t.kind() == ModuleKind.SHUTDOWN;
    String action = shutdown ? "power-off" : "power-on";
    return journal.persist(new ModuleEvent.ModulePowerIssued(t.id(), a.dpuId(), action, clock.millis())).thenRun(next ->
        ctx.pipeToSelf(shutdown ? host.powerOff(t.id(), a.dpuId()) : host.powerOn(t.id(), a.dpuId()), (result, failure) ->
            new PowerDone(a.dpuId(), t.id(), Failures.orFailed(result, failure, action))));
  }

  private Effect<ModuleEvent, ModuleBook> onPowerDone(ModuleBook s, PowerDone d) {
    Transition t = s.transition(d.dpuId(), d.transitionId());
    if (t == null || !t.powerIssued() || t.phase() == Transition.Step.WAITING_FOR_BOOT) {
      return journal.none();
    }
    return step(ModuleSteps.afterPower(t, d.dpuId(), d.result(), clock.millis(), settings.module().bootWait().toMillis()));
  }

  private Effect<ModuleEvent, ModuleBook> onBootTimeout(ModuleBook s, BootTimeout b) {
    Transition t = s.transition(b.dpuId(), b.transitionId());
    if (t == null || t.phase() != Transition.Step.WAITING_FOR_BOOT) {
      return journal.none();
    }
    return step(ModuleSteps.bootTimedOut(t, b.dpuId(), settings.module().bootWait().toSeconds(), lastSeen.get(b.dpuId()), clock.millis()));
  }

  /** Journals a step of a transition, then: the end, if it ends it; the side effects of the phase it leads to, else. */
  private Effect<ModuleEvent, ModuleBook> step(ModuleEvent event) {
    String dpuId = event.dpuId();
    if (event instanceof ModuleEvent.ModuleTransitionFinished) {
      work.cancelBootWait(dpuId);
      return journal.persist(event).thenRun(next -> finishedModule(next, dpuId));
    }
    if (event instanceof ModuleEvent.ModuleHaltBaselined b) {
      return journal.persist(event).thenRun(next -> fleet.baselineJournaled(dpuId, b.campaignId())); // now the HALT may go
    }
    if (event instanceof ModuleEvent.ModuleHaltAcknowledged) {
      return journal.persist(event); // still halting: the DPU's actor goes on
    }
    return journal.persist(event).thenRun(next -> work.enter(next, dpuId, false));
  }

  private void finishedModule(ModuleBook s, String dpuId) {
    work.finished(dpuId);
    String id = s.lastTransitionId(dpuId);
    ctx.getLog().info("[campaign={} dpu={}] module transition finished: {}", id, dpuId, s.modules().get(dpuId).lastOutcome());
    List<ActorRef<TransitionOutcome>> watchers = transitionWatchers.remove(id);
    if (watchers != null) {
      TransitionOutcome outcome = s.outcomeOf(dpuId, id);
      watchers.forEach(w -> w.tell(outcome));
    }
  }

  private Effect<ModuleEvent, ModuleBook> onWatchTransition(ModuleBook s, WatchTransition w) {
    if (s.transition(w.dpuId(), w.transitionId()) != null) {
      transitionWatchers.computeIfAbsent(w.transitionId(), k -> new ArrayList<>()).add(w.replyTo());
    } else {
      w.replyTo().tell(s.outcomeOf(w.dpuId(), w.transitionId()));
    }
    return journal.none();
  }
}
