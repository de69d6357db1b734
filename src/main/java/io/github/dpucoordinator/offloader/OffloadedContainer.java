package io.github.dpucoordinator.offloader;

import io.github.dpucoordinator.npu.journal.JournalHealth;
import io.github.dpucoordinator.offloader.ContainerFlows.Health;
import io.github.dpucoordinator.offloader.ContainerFlows.Result;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One offloaded container, an event-sourced actor that keeps it running on the NPU at the right version: it checks its
 * health every {@code health.interval}, restarts it with capped, jittered backoff when it crashed or failed its checks,
 * marks it crash-looping after {@code max-restarts} in the window, upgrades it when the DPU's version asks (and rolls
 * it back on its own when the new version does not stay healthy), and does what an operator asks. What it must not
 * forget is journaled before it acts on it; an upgrade or rollback found half done after a restart is finished.
 *
 * <p>One operation runs at a time (a start, restart, stop, upgrade or rollback: an asynchronous flow of Containerz calls that
 * journals its milestones through this actor); commands that must wait for it are stashed.
 */
public final class OffloadedContainer extends EventSourcedBehavior<OffloadedContainerProtocol.Command, ContainerEvent, ContainerBook>
    implements OffloadedContainerProtocol {
  // its own messages: the health interval, a check's result, a flow's check, milestone to journal, progress and end, a restart's time
  private enum Tick implements Command { INSTANCE }
  private record Checked(Health health, int epoch) implements Command {}
  private record Observed(Health health) implements Command {}
  private record Record(ContainerEvent event, ActorRef<Done> ack) implements Command {}
  private record FlowEnded(Result result, Throwable failure, Consumer<Result> then) implements Command {}
  private record RestartDue(int generation) implements Command {}
  private record Progress(String line) implements Command {}

  public static Behavior<Command> create(String name, OffloaderSettings settings, NpuContainerz npu, Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new OffloadedContainer(name, ctx, timers, settings, npu, clock)));
  }

  public static String persistenceId(String dpuId, String name) {
    return "offloaded|" + dpuId + "|" + name;
  }

  private final String name;
  private final String tag;
  private final ActorContext<Command> ctx;
  private final JournalHealth.Entity journal;
  private final TimerScheduler<Command> timers;
  private final OffloaderSettings settings;
  private final NpuContainerz npu;
  private final Clock clock;
  private final ContainerFlows flows;
  private final HealthMonitor monitor;
  private final Operation operation = new Operation();
  private boolean paused;

  private OffloadedContainer(String name, ActorContext<Command> ctx, TimerScheduler<Command> timers, OffloaderSettings settings,
      NpuContainerz npu, Clock clock) {
    super(PersistenceId.ofUniqueId(persistenceId(settings.dpuId(), name)),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.journal = JournalHealth.get(ctx.getSystem()).of(persistenceId(settings.dpuId(), name));
    this.name = name;
    this.tag = "[container=" + name + " dpu=" + settings.dpuId() + "]";
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.npu = npu;
    this.clock = clock;
    ActorRef<Command> self = ctx.getSelf();
    var scheduler = ctx.getSystem().scheduler(); // a flow's milestone is journaled through this actor, and completes once written
    this.flows = new ContainerFlows(tag, settings, npu, clock, e -> AskPattern.<Command, Done>ask(self, ack -> new Record(e, ack),
        Duration.ofSeconds(30), scheduler), line -> self.tell(new Progress(line)), h -> self.tell(new Observed(h)));
    this.monitor = new HealthMonitor(tag, settings);
  }

  @Override
  public ContainerBook emptyState() {
    return ContainerBook.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public EventHandler<ContainerBook, ContainerEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((book, e) -> book.apply(e, settings.historyMax()));
  }

  private EffectBuilder<ContainerEvent, ContainerBook> persist(ContainerEvent event) { // a write the journal does not confirm is logged and listed
    return journal.track(lastSequenceNumber(ctx) + 1, event, Effect().persist(event));
  }

  @Override
  public SignalHandler<ContainerBook> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryFailed.class, (state, f) -> journal.recoveryFailed(f.getFailure()))
        .onSignal(RecoveryCompleted.instance(), book -> {
      journal.recovered();
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.health().interval());
      if (!book.phase().equals(ContainerBook.STEADY)) {
        ctx.getLog().warn("{} found {} {} -> {} half done (the offloader stopped during it): finishing it", tag,
            book.phase().equals(ContainerBook.UPGRADING) ? "an upgrade" : "a rollback", book.from(), book.to());
        resume(book);
      }
    }).build();
  }

  @Override
  public CommandHandler<Command, ContainerEvent, ContainerBook> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Record.class, (b, r) -> persist(r.event()).thenRun(n -> r.ack().tell(Done.getInstance())))
        .onCommand(FlowEnded.class, this::onFlowEnded)
        .onCommand(Define.class, (b, d) -> d.def().equals(b.def()) ? Effect().none()
            : persist(new ContainerEvent.Defined(d.def(), now())).thenRun(x -> operation.forgetChecks())) // asked of the old definition
        .onCommand(Get.class, (b, g) -> {
          g.replyTo().tell(monitor.view(name, b, paused, operation.what(), now()));
          return Effect().none();
        })
        .onCommand(Pause.class, (b, p) -> Effect().none().thenRun(x -> paused = p.paused()))
        .onCommand(Progress.class, (b, p) -> Effect().none().thenRun(x -> monitor.note(p.line())))
        .onCommand(Observed.class, (b, o) -> Effect().none().thenRun(x -> monitor.seenByOperation(o.health())))
        .onCommand(Tick.class, this::onTick)
        .onCommand(Checked.class, this::onChecked)
        .onCommand(RestartDue.class, this::onRestartDue)
        .onCommand(Ensure.class, this::onEnsure)
        .onCommand(Sync.class, this::onSync)
        .onCommand(OperatorStart.class, this::onOperatorStart)
        .onCommand(OperatorStop.class, this::onOperatorStop)
        .onCommand(OperatorRollback.class, this::onOperatorRollback)
        .onCommand(HaltStop.class, this::onHaltStop)
        .build();
  }

  private long now() {
    return clock.millis();
  }

  /** Goes on with the upgrade or rollback the book says is under way (found at start, or put off for an unreachable NPU). */
  private void resume(ContainerBook b) {
    if (b.phase().equals(ContainerBook.UPGRADING)) {
      run(Operation.UPGRADING, () -> flows.upgrade(b.def(), b.from(), b.to(), null), r -> {});
    } else if (b.phase().equals(ContainerBook.ROLLING_BACK)) {
      run(Operation.ROLLING_BACK, () -> flows.rollback(b.def(), b.from(), b.to()), r -> {});
    }
  }

  // ---- the monitor ----

  private Effect<ContainerEvent, ContainerBook> onTick(ContainerBook b, Tick t) {
    if (b.defined() && operation.idle() && !paused && !b.phase().equals(ContainerBook.STEADY)) {
      resume(b); // an upgrade or rollback the NPU could not be reached for goes on
      return Effect().none();
    }
    if (b.defined() && operation.idle() && !b.tag().isEmpty()) { // checked even when not acted on (stopped, crash-looping): status stays true
      int epoch = operation.epoch();
      ctx.pipeToSelf(flows.check(b.def(), b.tag()), (h, f) -> new Checked(h != null ? h : Health.unknown(f), epoch));
    }
    return Effect().none();
  }

  private Effect<ContainerEvent, ContainerBook> onChecked(ContainerBook b, Checked c) {
    if (!operation.idle() || c.epoch() != operation.epoch()) { // an operation began since it was asked: what it saw is gone
      return Effect().none();
    }
    HealthMonitor.Verdict v = monitor.observe(c.health(), b, !paused && HealthMonitor.actsOn(b), now());
    return switch (v.kind()) {
      case "reset" -> persist(new ContainerEvent.RestartsReset(now()));
      case "failed" -> failed(b, v.why());
      default -> Effect().none();
    };
  }

  /** A crash or a failed health: a restart after the backoff, or crash-looping when the window is full. */
  private Effect<ContainerEvent, ContainerBook> failed(ContainerBook b, String why) {
    var r = settings.restart();
    int n = b.restartsWithin(r.window().toMillis(), now());
    if (n >= r.maxRestarts()) {
      monitor.crashLooping();
      ctx.getLog().error("{} failed again ({}) after {} restarts within {} s (dpu-coordinator.offloader.restart.max-restarts): crash-looping; "
          + "not restarted until an operator starts it (offloadctl start {})", tag, why, n, r.window().toSeconds(), name);
      return persist(new ContainerEvent.CrashLooping(why + "; " + n + " restarts within " + r.window().toSeconds() + " s", now()));
    }
    long delay = monitor.backoffMillis(n);
    int generation = operation.awaitRestart();
    ctx.getLog().warn("{} failed: {}; restarting in {} ms (restart {} of at most {} within {} s)", tag, why, delay, n + 1, r.maxRestarts(),
        r.window().toSeconds());
    return persist(new ContainerEvent.Failed(why, delay, now()))
        .thenRun(x -> timers.startSingleTimer(new RestartDue(generation), Duration.ofMillis(delay)));
  }

  private Effect<ContainerEvent, ContainerBook> onRestartDue(ContainerBook b, RestartDue d) {
    if (!operation.restartDue(d.generation())) {
      return Effect().none();
    }
    int n = b.restartsWithin(settings.restart().window().toMillis(), now()) + 1;
    ContainerDef def = b.def();
    String version = b.tag();
    run("restarting", () -> npu.remove(def.name(), true).thenCompose(v -> flows.start(def, version, () -> new ContainerEvent.Restarted(version, n,
        now())))
        .thenApply(v -> new Result("restarted", def.image() + ":" + version + " (restart " + n + ")")),
        r -> ctx.getLog().info("{} {}: {}", tag, r.kind(), r.detail()));
    return Effect().none();
  }

  // ---- initialization, operator requests and a DPU halt ----

  private Effect<ContainerEvent, ContainerBook> onEnsure(ContainerBook b, Ensure e) {
    if (!b.defined()) {
      e.replyTo().tell(tag + " not defined");
      return Effect().none();
    }
    if (operation.running()) {
      return Effect().stash();
    }
    run("initializing", () -> flows.ensure(b, e.dpuVersion()), r -> {
      String line = tag + " init: " + r.detail();
      ctx.getLog().info(line);
      e.replyTo().tell(line);
    });
    return Effect().none();
  }

  private Effect<ContainerEvent, ContainerBook> onOperatorStart(ContainerBook b, OperatorStart s) {
    if (!operation.callOffPendingRestart()) {
      return waitOrRefuse(s.replyTo());
    }
    ContainerDef def = b.def();
    String version = b.tag().isEmpty() ? def.tagFor(settings.configuredVersion()) : b.tag();
    return persist(new ContainerEvent.OperatorStarted(now())).thenRun(x -> run("starting", () -> flows.start(def, version,
            () -> new ContainerEvent.Started(version, "by an operator", now()))
        .thenApply(v -> new Result("started", name + ": " + def.image() + ":" + version + " started")), r -> s.replyTo().tell(
            new Reply(r.kind().equals("started"), r.detail()))));
  }

  private Effect<ContainerEvent, ContainerBook> onOperatorStop(ContainerBook b, OperatorStop s) {
    if (!operation.callOffPendingRestart()) {
      return waitOrRefuse(s.replyTo());
    }
    return persist(new ContainerEvent.Stopped(true, "by an operator", now())).thenRun(x -> run("stopping",
        () -> flows.stop(b.def(), b.tag()).thenApply(v -> new Result("stopped", name + " stopped; it stays stopped until `offloadctl start " + name
            + "`")), r -> s.replyTo().tell(new Reply(r.kind().equals("stopped"), r.detail()))));
  }

  private Effect<ContainerEvent, ContainerBook> onOperatorRollback(ContainerBook b, OperatorRollback r) {
    if (!operation.callOffPendingRestart()) {
      return waitOrRefuse(r.replyTo());
    }
    if (b.previousTag().isEmpty() || b.previousTag().equals(b.tag())) {
      r.replyTo().tell(new Reply(false, name + " has no previous version to roll back to (it runs " + b.tag() + ")"));
      return Effect().none();
    }
    ContainerDef def = b.def();
    String failedTag = b.tag();
    String back = b.previousTag();
    return persist(new ContainerEvent.UpgradeFailed(failedTag, back, "rolled back by an operator", now()))
        .thenRun(x -> run(Operation.ROLLING_BACK, () -> flows.rollback(def, failedTag, back),
            res -> r.replyTo().tell(new Reply(res.kind().equals("rolled-back"), res.detail()))));
  }

  private Effect<ContainerEvent, ContainerBook> onHaltStop(ContainerBook b, HaltStop h) {
    if (!operation.callOffPendingRestart()) {
      return Effect().stash();
    }
    paused = true;
    if (!b.defined() || b.operatorStopped()) {
      h.replyTo().tell(new Reply(true, name + ": already stopped"));
      return Effect().none();
    }
    return persist(new ContainerEvent.Stopped(false, "the DPU halts (dpu-coordinator.offloader.stop-on-dpu-halt)", now()))
        .thenRun(x -> run(Operation.HALT_STOPPING, () -> flows.stop(b.def(), b.tag()).thenApply(v -> new Result("stopped", name + " stopped")),
            r -> h.replyTo().tell(new Reply(r.kind().equals("stopped"), r.detail()))));
  }

  /** An operator's request while an operation runs: done after a start or stop, else refused (see Operation.refusesOperators). */
  private Effect<ContainerEvent, ContainerBook> waitOrRefuse(ActorRef<Reply> replyTo) {
    if (!operation.refusesOperators()) {
      return Effect().stash();
    }
    replyTo.tell(new Reply(false, name + " is " + operation.what() + "; try again when that has ended"));
    return Effect().none();
  }

  // ---- the version sync: upgrade, and rollback when the new version does not stay healthy ----

  private Effect<ContainerEvent, ContainerBook> onSync(ContainerBook b, Sync s) {
    if (operation.running()) {
      return Effect().stash();
    }
    if (!b.defined()) {
      s.replyTo().tell(new SyncOutcome(name, "skipped", "not defined"));
      return Effect().none();
    }
    String desired = b.def().tagFor(s.dpuVersion());
    SyncOutcome settled = b.settled(name, desired);
    if (settled != null) {
      s.replyTo().tell(settled);
    } else if (b.tag().isEmpty()) { // defined since the initialization (a deploy): its first start
      operation.callOffPendingRestart();
      ContainerDef def = b.def();
      run("starting", () -> flows.firstStart(def, desired), r -> s.replyTo().tell(new SyncOutcome(name, r.kind(), r.detail())));
    } else {
      operation.callOffPendingRestart();
      ContainerDef def = b.def();
      // one already under way to this version (put off while the NPU could not be reached) goes on; it is not started again
      boolean underWay = b.phase().equals(ContainerBook.UPGRADING) && b.to().equals(desired);
      String from = underWay ? b.from() : b.tag();
      String why = underWay ? null : def.versionPolicy().equals(ContainerDef.MATCH_DPU) ? "the DPU runs " + s.dpuVersion() : "version-policy " + desired;
      run(Operation.UPGRADING, () -> flows.upgrade(def, from, desired, why), r -> s.replyTo().tell(new SyncOutcome(name, r.kind(), r.detail())));
    }
    return Effect().none();
  }

  // ---- flows ----

  /** Runs {@code flow} as this container's one operation; {@code then} hears its result (a failure as kind "failed"). */
  private void run(String what, Supplier<CompletionStage<Result>> flow, Consumer<Result> then) {
    ctx.pipeToSelf(operation.begin(what, flow), (r, f) -> new FlowEnded(r, f, then));
  }

  private Effect<ContainerEvent, ContainerBook> onFlowEnded(ContainerBook b, FlowEnded f) {
    Result r = f.result() != null ? f.result() : new Result("failed", NpuContainerz.describe(f.failure()));
    boolean putOff = r.kind().equals("deferred");
    if (operation.end(putOff)) { // said once; it is tried again every health interval until the NPU answers
      ctx.getLog().warn("{} {}; it goes on when the NPU answers (tried every {} ms)", tag, r.detail(), settings.health().interval().toMillis());
    }
    if (f.failure() != null) {
      ctx.getLog().warn("{} {}", tag, r.detail());
    }
    monitor.operationEnded(r.detail(), r.kind().equals("failed")); // shown until the next check
    f.then().accept(r);
    return Effect().none().thenUnstashAll();
  }
}
