package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.dpu.DpuActor;
import io.github.dpucoordinator.npu.dpu.DpuFleet;
import io.github.dpucoordinator.npu.dpu.LinkReport;
import io.github.dpucoordinator.npu.dpu.LinkStart;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.journal.HistoryEntry;
import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.ModuleCommand;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.StartReply;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.TransitionOutcome;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.WatchTransition;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest;
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
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * Single-DPU (module) transitions as an event-sourced entity of their own: `chassis module shutdown|startup`,
 * named-pipe halt/cold/warm requests, and the restarts of DPUs a cancelled campaign left halted. One transition per
 * DPU; each phase (HALTING, POWERING_OFF, POWERING_ON, WAITING_FOR_BOOT) is journaled, and {@link #enter} runs its side
 * effects again after a restart. Whether a transition may start at all while a campaign is in flight is the chassis'
 * rule, not this entity's: it checks the DPU, the kind and the transition in flight.
 */
public final class ModuleEntity extends EventSourcedBehavior<Command, ModuleEvent, ModuleBook> {
  public static final String PERSISTENCE_ID = "npu-modules";

  /** What the DPU's actor reports about the work of transition {@code workId}. */
  record Report(String workId, String dpuId, LinkReport report) implements Command {}

  record Advance(String dpuId, String transitionId) implements Command {}

  record PowerDone(String dpuId, String transitionId, StepResult result) implements Command {}

  record BootTimeout(String dpuId, String transitionId) implements Command {}

  /** A startup of a DPU that is administratively up asked it first: {@code listening} says whether it answered Listening. */
  record StartupChecked(ModuleCommand command, boolean listening, String seen) implements Command {}

  /**
   * A cancelled campaign left this DPU halted: restart it (gNOI COLD) as transition {@code transitionId}, unless that
   * was done already (the campaign asks again after a restart of the service: anything this entity journaled for the
   * DPU since {@code atMillis} means it was).
   */
  public record Restart(String transitionId, DpuEndpoint dpu, String reason, long atMillis) implements Command {}

  /** Take over the modules of a journal written before the split (once; asked again, it only confirms). */
  public record Adopt(Map<String, ModuleState> modules, ActorRef<Done> replyTo) implements Command {}

  /** The entity's state now, after every message before this one. */
  public record GetBook(ActorRef<Book> replyTo) implements Command {}

  /** {@code lastSeen}: what each DPU in a transition last said; {@code journalEvents}: this entity's events so far. */
  public record Book(ModuleBook book, Map<String, String> lastSeen, long journalEvents) {}

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
  // Transient, rebuilt after a restart: each DPU's transition work, and who waits for a transition's end.
  private final Map<String, String> moduleWork = new HashMap<>();
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
    this.journal = new JournalWrites<>(Effect(), () -> lastSequenceNumber(ctx), view::tell);
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
        .onSignal(RecoveryCompleted.instance(), state -> {
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
      enter(state, m.dpuId(), true);
    });
  }

  private Effect<ModuleEvent, ModuleBook> onAdopt(ModuleBook s, Adopt a) {
    if (s.adopted()) {
      a.replyTo().tell(Done.getInstance());
      return journal.none();
    }
    return journal.persist(new ModuleEvent.LegacyAdopted("legacy", a.modules(), clock.millis())).thenRun(next -> {
      ctx.getLog().info("[campaign=legacy dpu=all] took over {} module(s) from the coordinator's journal", a.modules().size());
      a.replyTo().tell(Done.getInstance());
      resumeAll(next);
    });
  }

  private Effect<ModuleEvent, ModuleBook> onRestart(ModuleBook s, Restart r) {
    ModuleState m = s.modules().get(r.dpu().id());
    if (m != null && (m.transition() != null || m.lastChange() >= r.atMillis())) {
      return journal.none(); // started already (or something newer happened to the DPU since)
    }
    return journal.persist(new ModuleEvent.ModuleTransitionStarted(r.transitionId(), r.dpu(), "cold", r.reason(), clock.millis()))
        .thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu={}] module cold started: reason='{}'", r.transitionId(), r.dpu().id(), r.reason());
          enter(next, r.dpu().id(), false);
        });
  }

  /** A timer for the time left until an absolute (journaled) deadline; at once if it has passed. */
  private void armAt(String key, Command message, long deadlineMillis) {
    timers.startSingleTimer(key, message, Duration.ofMillis(Math.max(0, deadlineMillis - clock.millis())));
  }

  private Effect<ModuleEvent, ModuleBook> onModule(ModuleBook s, ModuleCommand c) {
    DpuEndpoint dpu = settings.dpu(c.dpuId()).orElse(null);
    if (dpu == null) {
      c.replyTo().tell(new StartReply(false, "", "unknown DPU '" + c.dpuId() + "'; configured: "
          + String.join(", ", settings.dpus().stream().map(DpuEndpoint::id).toList())));
      return journal.none();
    }
    if (!c.kind().equals(Transition.SHUTDOWN) && !c.kind().equals(Transition.STARTUP)
        && !Transition.REBOOT_KINDS.contains(c.kind())) {
      c.replyTo().tell(new StartReply(false, "", "unknown module transition '" + c.kind() + "'; expected shutdown, startup, halt, cold or warm"));
      return journal.none();
    }
    if ((c.kind().equals("cold") || c.kind().equals("warm")) && !dpu.protocol().equals(DpuEndpoint.GNOI)) {
      c.replyTo().tell(new StartReply(false, "", "method " + c.kind().toUpperCase() + " needs gNOI; " + dpu.id() + " speaks "
          + dpu.protocol() + ", which only halts"));
      return journal.none();
    }
    ModuleState m = s.modules().get(dpu.id());
    if (m != null && m.transition() != null) {
      Transition t = m.transition();
      c.replyTo().tell(new StartReply(false, t.id(), dpu.id() + " is already in a " + t.kind() + " (" + t.id() + ", phase "
          + t.phase() + ", since " + Instant.ofEpochMilli(t.startedAt()) + "); one transition per DPU at a time"));
      return journal.none();
    }
    boolean down = m != null && m.down();
    if (!c.force() && c.kind().equals(Transition.SHUTDOWN) && down) {
      // Already where it was asked to go: nothing is halted, powered or journaled again (`--force` does it anyway).
      String since = m.lastChange() <= 0 ? "" : " since " + Instant.ofEpochMilli(m.lastChange())
          + (m.lastOutcome().isEmpty() ? "" : " (" + m.lastOutcome() + ")");
      c.replyTo().tell(new StartReply(true, "", dpu.id() + " is already administratively down" + since
          + "; nothing done (--force runs the shutdown anyway)"));
      return journal.none();
    }
    if (!c.force() && c.kind().equals(Transition.STARTUP) && !down) {
      // Up as far as the NPU knows, but it may be halted (a cancelled campaign leaves DPUs so): ask it first.
      fleet.observe(dpu, a -> new StartupChecked(c, a.observation() != null && a.observation().listening(),
          a.observation() != null ? a.observation().state().name() : "not answering: " + Failures.describe(a.failure())));
      return journal.none();
    }
    long now = clock.millis();
    String id = Ids.newId(random, "m", now);
    String reason = c.reason().isBlank() ? "operator request" : c.reason().trim();
    return journal.persist(new ModuleEvent.ModuleTransitionStarted(id, dpu, c.kind(), reason, now))
        .thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu={}] module {} started: reason='{}'", id, dpu.id(), c.kind(), reason);
          c.replyTo().tell(new StartReply(true, id, "module " + c.kind() + " " + id + " of " + dpu.id() + " started"));
          enter(next, dpu.id(), false);
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

  /** The side effects of a module transition's phase; after a restart {@code recovered} is true. */
  private void enter(ModuleBook s, String dpuId, boolean recovered) {
    ModuleState m = s.modules().get(dpuId);
    Transition t = m == null ? null : m.transition();
    if (t == null) {
      stopModuleLink(dpuId);
      return;
    }
    switch (t.phase()) {
      case HALTING -> startModuleLink(t, new LinkStart(t.id(), LinkStart.Mode.SHUTDOWN,
          new SignalRequest(t.id(), "cold", t.reason(), 0, Transition.REBOOT_KINDS.contains(t.kind()) ? t.kind().toUpperCase() : ""),
          t.acknowledged(), 0, 0, t.countBefore()));
      case WAITING_FOR_BOOT -> {
        armAt( "module-boot-" + dpuId, new BootTimeout(dpuId, t.id()), t.bootDeadline());
        startModuleLink(t, new LinkStart(t.id(), LinkStart.Mode.READY, null, true, 0));
      }
      default -> {
        stopModuleLink(dpuId);
        // The power command: issue it, or (after a restart) settle what an issued one left behind.
        if (!t.powerIssued() || recovered) {
          ctx.getSelf().tell(new Advance(dpuId, t.id()));
        }
      }
    }
  }

  private Effect<ModuleEvent, ModuleBook> onReport(ModuleBook s, Report r) {
    Transition t = s.transition(r.dpuId(), r.workId());
    if (t == null) {
      return journal.none();
    }
    long now = clock.millis();
    LinkReport report = r.report();
    boolean halting = t.phase() == Transition.Step.HALTING;
    if (report instanceof LinkReport.Seen seen) {
      lastSeen.put(r.dpuId(), seen.summary());
    } else if (report instanceof LinkReport.Acknowledged a && halting && !t.acknowledged()) {
      return journal.persist(new ModuleEvent.ModuleHaltAcknowledged(t.id(), r.dpuId(), a.reply().ack(), now, a.reply().countBefore()));
    } else if (report instanceof LinkReport.Completed c && halting && Transition.REBOOT_KINDS.contains(t.kind())) {
      String what = t.kind().equals("halt") ? "halted" : "rebooted (" + t.kind().toUpperCase() + ")";
      return journal.persist(new ModuleEvent.ModuleTransitionFinished(t.id(), r.dpuId(), "ok",
          what + (c.detail().isEmpty() ? "" : " (" + c.detail() + ")"), now)).thenRun(next -> finishedModule(next, r.dpuId()));
    } else if (report instanceof LinkReport.GaveUp g && halting && Transition.REBOOT_KINDS.contains(t.kind())) {
      return journal.persist(new ModuleEvent.ModuleTransitionFinished(t.id(), r.dpuId(), "failed", g.reason(), now))
          .thenRun(next -> finishedModule(next, r.dpuId()));
    } else if (report instanceof LinkReport.Completed c && halting) {
      return journal.persist(new ModuleEvent.ModuleHalted(t.id(), r.dpuId(), true, c.detail(), now))
          .thenRun(next -> enter(next, r.dpuId(), false));
    } else if (report instanceof LinkReport.GaveUp g && halting) {
      ctx.getLog().error("[campaign={} dpu={}] module halt failed: {}; powering off anyway", t.id(), r.dpuId(), g.reason());
      return journal.persist(new ModuleEvent.ModuleHalted(t.id(), r.dpuId(), false, g.reason(), now))
          .thenRun(next -> enter(next, r.dpuId(), false));
    } else if (report instanceof LinkReport.ProtectiveChanged p && halting && !p.state().isEmpty()) {
      // Never halt or power off a DPU during a firmware update or crash dump: refuse, and say why.
      ctx.getLog().warn("[campaign={} dpu={}] module {} refused: the DPU reports protective state {}", t.id(), r.dpuId(), t.kind(), p.state());
      return journal.persist(new ModuleEvent.ModuleTransitionFinished(t.id(), r.dpuId(), "refused",
          "the DPU reports protective state " + p.state() + "; nothing was halted or powered off, try again when it has ended", now))
          .thenRun(next -> finishedModule(next, r.dpuId()));
    } else if (report instanceof LinkReport.Ready && t.phase() == Transition.Step.WAITING_FOR_BOOT) {
      timers.cancel("module-boot-" + r.dpuId());
      return journal.persist(new ModuleEvent.ModuleTransitionFinished(t.id(), r.dpuId(), "ok", "answering and Listening", now))
          .thenRun(next -> finishedModule(next, r.dpuId()));
    }
    return journal.none();
  }

  Effect<ModuleEvent, ModuleBook> onAdvance(ModuleBook s, Advance a) {
    Transition t = s.transition(a.dpuId(), a.transitionId());
    if (t == null || t.phase() == Transition.Step.HALTING || t.phase() == Transition.Step.WAITING_FOR_BOOT) {
      return journal.none();
    }
    long now = clock.millis();
    boolean shutdown = t.kind().equals(Transition.SHUTDOWN);
    if (!t.powerIssued()) {
      String action = shutdown ? "power-off" : "power-on";
      return journal.persist(new ModuleEvent.ModulePowerIssued(t.id(), a.dpuId(), action, now)).thenRun(next ->
          ctx.pipeToSelf(shutdown ? host.powerOff(t.id(), a.dpuId()) : host.powerOn(t.id(), a.dpuId()), (result, failure) ->
              new PowerDone(a.dpuId(), t.id(), Failures.orFailed(result, failure, action))));
    }
    // Recovered after the power command was issued: never run it twice.
    if (shutdown) {
      return journal.persist(new ModuleEvent.ModuleTransitionFinished(t.id(), a.dpuId(), haltOutcome(t),
          t.detail() + "; power-off was issued before an NPU service restart, its result is unknown", now))
          .thenRun(next -> finishedModule(next, a.dpuId()));
    }
    return journal.persist(new ModuleEvent.ModulePoweredOn(t.id(), a.dpuId(), "power-on was issued before an NPU service restart",
        now + settings.module().bootWait().toMillis(), now)).thenRun(next -> enter(next, a.dpuId(), false));
  }

  Effect<ModuleEvent, ModuleBook> onPowerDone(ModuleBook s, PowerDone d) {
    Transition t = s.transition(d.dpuId(), d.transitionId());
    if (t == null || !t.powerIssued() || t.phase() == Transition.Step.WAITING_FOR_BOOT) {
      return journal.none();
    }
    long now = clock.millis();
    StepResult r = d.result();
    if (t.kind().equals(Transition.SHUTDOWN)) {
      String outcome = r.ok() ? haltOutcome(t) : "failed";
      String detail = t.detail() + "; power-off " + (r.ok() ? "done" : "failed: " + r.detail())
          + (r.ok() && !r.detail().isEmpty() ? " (" + r.detail() + ")" : "");
      return journal.persist(new ModuleEvent.ModuleTransitionFinished(t.id(), d.dpuId(), outcome, detail, now))
          .thenRun(next -> finishedModule(next, d.dpuId()));
    }
    if (!r.ok()) {
      return journal.persist(new ModuleEvent.ModuleTransitionFinished(t.id(), d.dpuId(), "failed", "power-on failed: " + r.detail(), now))
          .thenRun(next -> finishedModule(next, d.dpuId()));
    }
    return journal.persist(new ModuleEvent.ModulePoweredOn(t.id(), d.dpuId(), "powered on" + (r.detail().isEmpty() ? "" : " (" + r.detail() + ")"),
        now + settings.module().bootWait().toMillis(), now)).thenRun(next -> enter(next, d.dpuId(), false));
  }

  Effect<ModuleEvent, ModuleBook> onBootTimeout(ModuleBook s, BootTimeout b) {
    Transition t = s.transition(b.dpuId(), b.transitionId());
    if (t == null || t.phase() != Transition.Step.WAITING_FOR_BOOT) {
      return journal.none();
    }
    String seen = lastSeen.get(b.dpuId());
    return journal.persist(new ModuleEvent.ModuleTransitionFinished(t.id(), b.dpuId(), "failed", "not Listening within the boot wait ("
        + settings.module().bootWait().toSeconds() + " s)" + (seen == null ? "" : "; last seen: " + seen), clock.millis()))
        .thenRun(next -> finishedModule(next, b.dpuId()));
  }

  private void finishedModule(ModuleBook s, String dpuId) {
    stopModuleLink(dpuId);
    fleet.release(dpuId, ""); // its next state is no news to the idle watch
    String id = lastTransitionId(s, dpuId);
    ctx.getLog().info("[campaign={} dpu={}] module transition finished: {}", id, dpuId, s.modules().get(dpuId).lastOutcome());
    List<ActorRef<TransitionOutcome>> watchers = transitionWatchers.remove(id);
    if (watchers != null) {
      TransitionOutcome outcome = outcomeOf(s, dpuId, id);
      watchers.forEach(w -> w.tell(outcome));
    }
  }

  private Effect<ModuleEvent, ModuleBook> onWatchTransition(ModuleBook s, WatchTransition w) {
    if (s.transition(w.dpuId(), w.transitionId()) != null) {
      transitionWatchers.computeIfAbsent(w.transitionId(), k -> new ArrayList<>()).add(w.replyTo());
    } else {
      w.replyTo().tell(outcomeOf(s, w.dpuId(), w.transitionId()));
    }
    return journal.none();
  }

  /** How a finished transition ended, from the DPU's history. */
  private static TransitionOutcome outcomeOf(ModuleBook s, String dpuId, String id) {
    return s.history().getOrDefault(dpuId, List.of()).stream().filter(h -> h.campaignId().equals(id))
        .map(h -> new TransitionOutcome(id, dpuId, h.outcome(), h.detail())).findFirst()
        .orElse(new TransitionOutcome(id, dpuId, "unknown", "no such transition in the DPU's history"));
  }

  private static String lastTransitionId(ModuleBook s, String dpuId) {
    List<HistoryEntry> h = s.history().getOrDefault(dpuId, List.of());
    return h.isEmpty() ? "" : h.get(h.size() - 1).campaignId();
  }

  private static String haltOutcome(Transition t) {
    return t.haltFailed() ? "degraded" : "ok";
  }

  private void startModuleLink(Transition t, LinkStart start) {
    stopModuleLink(t.dpu().id());
    moduleWork.put(t.dpu().id(), t.id());
    fleet.engage(t.dpu(), start);
  }

  private void stopModuleLink(String dpuId) {
    String id = moduleWork.remove(dpuId);
    if (id != null) {
      fleet.release(dpuId, id);
    }
  }
}
