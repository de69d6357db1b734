package io.github.dpucoordinator.offloader;

import java.time.Clock;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
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
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
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
 * <p>One operation runs at a time (a start, restart, upgrade or rollback: an asynchronous flow of Containerz calls that
 * journals its milestones through this actor); commands that must wait for it are stashed.
 */
public final class OffloadedContainer extends EventSourcedBehavior<OffloadedContainer.Command, ContainerEvent, ContainerBook> {
  public interface Command {}

  /** Its definition, from the configuration or a deploy (journaled when it changed). */
  public record Define(ContainerDef def) implements Command {}

  /** The initialization sequence: running at its version, else started; the answer is its one-line summary. */
  public record Ensure(String dpuVersion, ActorRef<String> replyTo) implements Command {}

  /** The version sync: upgraded (and rolled back if the new version fails) when the DPU's version asks for another tag. */
  public record Sync(String dpuVersion, ActorRef<SyncOutcome> replyTo) implements Command {}

  /** {@code result}: current, started, upgraded, rolled-back, failed, held, skipped, deferred (the NPU could not be reached). */
  public record SyncOutcome(String name, String result, String detail) {
    public boolean stopsTheRest() {
      return result.equals("rolled-back") || result.equals("failed") || result.equals("held") || result.equals("deferred");
    }
  }

  public record Reply(boolean ok, String message) {}

  public record OperatorStart(ActorRef<Reply> replyTo) implements Command {}

  public record OperatorStop(ActorRef<Reply> replyTo) implements Command {}

  public record OperatorRollback(ActorRef<Reply> replyTo) implements Command {}

  /** The DPU is shutting down or rebooting: no health checks (and no restarts) until resumed. */
  public record Pause(boolean paused) implements Command {}

  /** The last step of a DPU halt: stopped, to be started again by the initialization sequence. */
  public record HaltStop(ActorRef<Reply> replyTo) implements Command {}

  public record Get(ActorRef<View> replyTo) implements Command {}

  /** The recorded state with what the monitor last saw. */
  public record View(String name, ContainerBook book, String health, String detail, NpuContainerz.Seen seen, int restartsInWindow) {}

  private enum Tick implements Command { INSTANCE }

  private record Checked(Health health) implements Command {}

  private record Record(ContainerEvent event, ActorRef<Done> ack) implements Command {}

  private record FlowEnded(Result result, Throwable failure, Consumer<Result> then) implements Command {}

  private record RestartDue(int generation) implements Command {}

  /** A flow's end: a kind (as in SyncOutcome) and a line. */
  record Result(String kind, String detail) {}

  /** One check: {@code known} false when the NPU could not be asked. */
  record Health(boolean known, NpuContainerz.Seen seen, boolean healthy, String why) {}

  public static Behavior<Command> create(String name, OffloaderSettings settings, NpuContainerz npu, Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new OffloadedContainer(name, ctx, timers, settings, npu, clock)));
  }

  public static String persistenceId(String dpuId, String name) {
    return "offloaded|" + dpuId + "|" + name;
  }

  private static final String RESTART_PENDING = "waiting to restart";
  /** For the flows, which run off the actor's thread (its context's logger is not theirs to use). */
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OffloadedContainer.class);

  private final String name;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final OffloaderSettings settings;
  private final NpuContainerz npu;
  private final Clock clock;
  private final Random random = new Random();
  private final ActorRef<Command> self;
  private final org.apache.pekko.actor.typed.Scheduler scheduler;
  // Transient: what runs now, and what the monitor last saw.
  private String busy;
  private boolean paused;
  private int failuresInARow;
  private long healthySinceMs;
  private int restartGeneration;
  private boolean deferred;
  private NpuContainerz.Seen lastSeen = new NpuContainerz.Seen("UNKNOWN", "");
  private String health = "unknown";
  private String healthDetail = "not checked yet";

  private OffloadedContainer(String name, ActorContext<Command> ctx, TimerScheduler<Command> timers, OffloaderSettings settings,
      NpuContainerz npu, Clock clock) {
    super(PersistenceId.ofUniqueId(persistenceId(settings.dpuId(), name)),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.name = name;
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.npu = npu;
    this.clock = clock;
    this.self = ctx.getSelf();
    this.scheduler = ctx.getSystem().scheduler();
  }

  private String tag() {
    return "[container=" + name + " dpu=" + settings.dpuId() + "]";
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

  @Override
  public SignalHandler<ContainerBook> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), book -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.health().interval());
      if (!book.phase().equals(ContainerBook.STEADY)) {
        ctx.getLog().warn("{} found {} {} -> {} half done (the offloader stopped during it): finishing it", tag(),
            book.phase().equals(ContainerBook.UPGRADING) ? "an upgrade" : "a rollback", book.from(), book.to());
        resume(book);
      }
    }).build();
  }

  @Override
  public CommandHandler<Command, ContainerEvent, ContainerBook> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Record.class, (b, r) -> Effect().persist(r.event()).thenRun(n -> r.ack().tell(Done.getInstance())))
        .onCommand(FlowEnded.class, this::onFlowEnded)
        .onCommand(Define.class, (b, d) -> d.def().equals(b.def()) ? Effect().none()
            : Effect().persist(new ContainerEvent.Defined(d.def(), now())))
        .onCommand(Get.class, (b, g) -> {
          g.replyTo().tell(view(b));
          return Effect().none();
        })
        .onCommand(Pause.class, (b, p) -> {
          paused = p.paused();
          return Effect().none();
        })
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

  View view(ContainerBook b) {
    String h = !b.defined() ? "unknown" : b.crashLoopingSince() > 0 ? "crash-looping" : b.operatorStopped() ? "stopped"
        : b.haltStopped() ? "stopped-for-halt" : b.phase().equals(ContainerBook.UPGRADING) ? "upgrading"
        : b.phase().equals(ContainerBook.ROLLING_BACK) ? "rolling-back" : paused ? "paused" : health;
    String d = b.crashLoopingSince() > 0 ? "crash-looping since " + java.time.Instant.ofEpochMilli(b.crashLoopingSince())
        + ": not restarted until an operator starts it" : busy != null ? busy + "; " + healthDetail : healthDetail;
    return new View(name, b, h, d, lastSeen, b.restartsWithin(settings.restart().window().toMillis(), now()));
  }

  /** Goes on with the upgrade or rollback the book says is under way (found at start, or put off for an unreachable NPU). */
  private void resume(ContainerBook b) {
    if (b.phase().equals(ContainerBook.UPGRADING)) {
      run("upgrading", () -> upgrade(b.def(), b.from(), b.to(), null), r -> {});
    } else if (b.phase().equals(ContainerBook.ROLLING_BACK)) {
      run("rolling back", () -> rollback(b.def(), b.from(), b.to()), r -> {});
    }
  }

  // ---- the monitor ----

  private boolean monitored(ContainerBook b) {
    return b.defined() && busy == null && !paused && !b.operatorStopped() && !b.haltStopped() && b.crashLoopingSince() == 0
        && !b.tag().isEmpty() && b.phase().equals(ContainerBook.STEADY);
  }

  private Effect<ContainerEvent, ContainerBook> onTick(ContainerBook b, Tick t) {
    if (b.defined() && busy == null && !paused && !b.phase().equals(ContainerBook.STEADY)) {
      resume(b); // an upgrade or rollback the NPU could not be reached for goes on
      return Effect().none();
    }
    if (b.defined() && busy == null && !b.tag().isEmpty()) { // checked even when not acted on (stopped, crash-looping): status stays true
      ctx.pipeToSelf(check(b.def(), b.tag()), (h, f) -> new Checked(h != null ? h : new Health(false, lastSeen, false, NpuContainerz.describe(f))));
    }
    return Effect().none();
  }

  /** RUNNING on the NPU as {@code image:tag}, and its health port open if it has one. */
  private CompletionStage<Health> check(ContainerDef def, String tag) {
    String want = def.image() + ":" + tag;
    return npu.seen(def.name()).thenCompose(seen -> {
      if (!seen.running()) {
        return CompletableFuture.completedFuture(new Health(true, seen, false, "not running on the NPU (" + seen.status() + ")"));
      }
      if (!seen.image().equals(want)) {
        return CompletableFuture.completedFuture(new Health(true, seen, false, "runs " + seen.image() + ", not " + want));
      }
      if (def.healthPort() == 0) {
        return CompletableFuture.completedFuture(new Health(true, seen, true, "RUNNING " + seen.image()));
      }
      return npu.portOpen(def.healthPort()).thenApply(open -> new Health(true, seen, open, open ? "RUNNING " + seen.image() + ", port "
          + def.healthPort() + " answers" : "RUNNING " + seen.image() + " but port " + def.healthPort() + " refuses connections"));
    }).exceptionally(e -> new Health(false, lastSeen, false, NpuContainerz.describe(e)));
  }

  private Effect<ContainerEvent, ContainerBook> onChecked(ContainerBook b, Checked c) {
    Health h = c.health();
    if (busy != null) {
      return Effect().none();
    }
    healthDetail = h.why();
    if (h.known()) {
      lastSeen = h.seen();
    }
    if (!monitored(b)) {
      return Effect().none();
    }
    if (!h.known()) {
      health = "unknown";
      return Effect().none(); // an NPU that cannot be reached is not a crash of the container
    }
    if (h.healthy()) {
      failuresInARow = 0;
      health = "healthy";
      healthySinceMs = healthySinceMs == 0 ? now() : healthySinceMs;
      if (!b.restartTimes().isEmpty() && now() - healthySinceMs >= settings.restart().resetAfter().toMillis()) {
        return Effect().persist(new ContainerEvent.RestartsReset(now()));
      }
      return Effect().none();
    }
    healthySinceMs = 0;
    if (h.seen().running() && h.seen().image().equals(b.def().image() + ":" + b.tag())) { // running but failing its port check
      failuresInARow++;
      health = "unhealthy";
      if (failuresInARow < settings.health().failureThreshold()) {
        ctx.getLog().info("{} health check failed ({} of {} in a row): {}", tag(), failuresInARow, settings.health().failureThreshold(), h.why());
        return Effect().none();
      }
      return failed(b, h.why() + ", " + failuresInARow + " checks in a row");
    }
    return failed(b, h.why());
  }

  /** A crash or a failed health: a restart after the backoff, or crash-looping when the window is full. */
  private Effect<ContainerEvent, ContainerBook> failed(ContainerBook b, String why) {
    failuresInARow = 0;
    var r = settings.restart();
    int n = b.restartsWithin(r.window().toMillis(), now());
    if (n >= r.maxRestarts()) {
      health = "crash-looping";
      ctx.getLog().error("{} failed again ({}) after {} restarts within {} s (dpu-coordinator.offloader.restart.max-restarts): crash-looping; "
          + "not restarted until an operator starts it (offloadctl start {})", tag(), why, n, r.window().toSeconds(), name);
      return Effect().persist(new ContainerEvent.CrashLooping(why + "; " + n + " restarts within " + r.window().toSeconds() + " s", now()));
    }
    long base = Math.min(r.maxDelay().toMillis(), r.initialDelay().toMillis() << Math.min(n, 30));
    long delay = Math.max(1, Math.round(base * (1 + r.jitter() * (2 * random.nextDouble() - 1))));
    health = "failed";
    busy = RESTART_PENDING;
    int generation = ++restartGeneration;
    ctx.getLog().warn("{} failed: {}; restarting in {} ms (restart {} of at most {} within {} s)", tag(), why, delay, n + 1, r.maxRestarts(),
        r.window().toSeconds());
    return Effect().persist(new ContainerEvent.Failed(why, delay, now()))
        .thenRun(x -> timers.startSingleTimer(new RestartDue(generation), Duration.ofMillis(delay)));
  }

  private Effect<ContainerEvent, ContainerBook> onRestartDue(ContainerBook b, RestartDue d) {
    if (d.generation() != restartGeneration || !RESTART_PENDING.equals(busy)) {
      return Effect().none();
    }
    busy = null;
    int n = b.restartsWithin(settings.restart().window().toMillis(), now()) + 1;
    ContainerDef def = b.def();
    String version = b.tag();
    run("restarting", () -> npu.remove(def.name(), true).thenCompose(v -> npu.ensureImage(def.name(), def.image(), version))
        .thenCompose(v -> npu.start(def, version))
        .thenCompose(v -> record(new ContainerEvent.Restarted(version, n, now())))
        .thenApply(v -> new Result("restarted", def.image() + ":" + version + " (restart " + n + ")")), r -> {
          ctx.getLog().info("{} {}: {}", tag(), r.kind(), r.detail());
        });
    return Effect().none();
  }

  // ---- initialization, operator requests and a DPU halt ----

  private Effect<ContainerEvent, ContainerBook> onEnsure(ContainerBook b, Ensure e) {
    if (!b.defined()) {
      e.replyTo().tell(tag() + " not defined");
      return Effect().none();
    }
    if (busy != null && !RESTART_PENDING.equals(busy)) {
      return Effect().stash();
    }
    ContainerDef def = b.def();
    String version = b.tag().isEmpty() ? def.tagFor(e.dpuVersion()) : b.tag();
    String want = def.image() + ":" + version;
    String versionNote = version.equals(def.tagFor(e.dpuVersion())) ? "" : " (the DPU's version asks for " + def.tagFor(e.dpuVersion())
        + ": the version sync follows)";
    if (b.operatorStopped()) {
      npu.seen(def.name()).whenComplete((s, f) -> e.replyTo().tell(tag() + " init: stopped by an operator, left stopped (NPU: "
          + (s != null ? s.status() : "not reached") + ")"));
      return Effect().none();
    }
    run("initializing", () -> npu.seen(def.name()).thenCompose(seen -> {
      if (seen.running() && seen.image().equals(want)) {
        return CompletableFuture.completedFuture(new Result("current", "RUNNING " + want + ", as recorded" + versionNote));
      }
      String was = seen.status() + (seen.image().isEmpty() ? "" : " " + seen.image());
      return npu.ensureImage(def.name(), def.image(), version).thenCompose(how -> npu.start(def, version))
          .thenCompose(v -> record(new ContainerEvent.Started(version, "initialization: it was " + was, now())))
          .thenApply(v -> new Result("started", "started " + want + " (it was " + was + ")" + versionNote));
    }), r -> {
      String line = tag() + " init: " + r.detail();
      ctx.getLog().info(line);
      e.replyTo().tell(line);
    });
    return Effect().none();
  }

  private Effect<ContainerEvent, ContainerBook> onOperatorStart(ContainerBook b, OperatorStart s) {
    if (!cancelPendingRestart()) {
      s.replyTo().tell(new Reply(false, name + " is " + busy + "; try again when that has ended"));
      return Effect().none();
    }
    ContainerDef def = b.def();
    String version = b.tag().isEmpty() ? def.tagFor(settings.configuredVersion()) : b.tag();
    return Effect().persist(new ContainerEvent.OperatorStarted(now())).thenRun(x -> run("starting", () -> npu.ensureImage(def.name(), def.image(), version)
        .thenCompose(v -> npu.start(def, version))
        .thenCompose(v -> record(new ContainerEvent.Started(version, "by an operator", now())))
        .thenApply(v -> new Result("started", name + ": " + def.image() + ":" + version + " started")), r -> s.replyTo().tell(
            new Reply(r.kind().equals("started"), r.detail()))));
  }

  private Effect<ContainerEvent, ContainerBook> onOperatorStop(ContainerBook b, OperatorStop s) {
    if (!cancelPendingRestart()) {
      s.replyTo().tell(new Reply(false, name + " is " + busy + "; try again when that has ended"));
      return Effect().none();
    }
    return Effect().persist(new ContainerEvent.Stopped(true, "by an operator", now())).thenRun(x -> run("stopping",
        () -> npu.stop(name, false).thenApply(v -> new Result("stopped", name + " stopped; it stays stopped until `offloadctl start " + name
            + "`")), r -> s.replyTo().tell(new Reply(r.kind().equals("stopped"), r.detail()))));
  }

  private Effect<ContainerEvent, ContainerBook> onOperatorRollback(ContainerBook b, OperatorRollback r) {
    if (!cancelPendingRestart()) {
      r.replyTo().tell(new Reply(false, name + " is " + busy + "; try again when that has ended"));
      return Effect().none();
    }
    if (b.previousTag().isEmpty() || b.previousTag().equals(b.tag())) {
      r.replyTo().tell(new Reply(false, name + " has no previous version to roll back to (it runs " + b.tag() + ")"));
      return Effect().none();
    }
    ContainerDef def = b.def();
    String failedTag = b.tag();
    String back = b.previousTag();
    return Effect().persist(new ContainerEvent.UpgradeFailed(failedTag, back, "rolled back by an operator", now()))
        .thenRun(x -> run("rolling back", () -> rollback(def, failedTag, back), res -> r.replyTo().tell(new Reply(res.kind().equals("rolled-back"),
            res.detail()))));
  }

  private Effect<ContainerEvent, ContainerBook> onHaltStop(ContainerBook b, HaltStop h) {
    if (!cancelPendingRestart()) {
      return Effect().stash();
    }
    paused = true;
    if (!b.defined() || b.operatorStopped()) {
      h.replyTo().tell(new Reply(true, name + ": already stopped"));
      return Effect().none();
    }
    return Effect().persist(new ContainerEvent.Stopped(false, "the DPU halts (dpu-coordinator.offloader.stop-on-dpu-halt)", now()))
        .thenRun(x -> run("stopping for the DPU halt", () -> npu.stop(name, false).thenApply(v -> new Result("stopped", name + " stopped")),
            r -> h.replyTo().tell(new Reply(r.kind().equals("stopped"), r.detail()))));
  }

  /** True when nothing else runs now (a restart that was only waiting is called off). */
  private boolean cancelPendingRestart() {
    if (RESTART_PENDING.equals(busy)) {
      restartGeneration++;
      busy = null;
    }
    return busy == null;
  }

  // ---- the version sync: upgrade, and rollback when the new version does not stay healthy ----

  private Effect<ContainerEvent, ContainerBook> onSync(ContainerBook b, Sync s) {
    if (busy != null && !RESTART_PENDING.equals(busy)) {
      return Effect().stash();
    }
    if (!b.defined()) {
      s.replyTo().tell(new SyncOutcome(name, "skipped", "not defined"));
      return Effect().none();
    }
    String desired = b.def().tagFor(s.dpuVersion());
    if (b.operatorStopped()) {
      s.replyTo().tell(new SyncOutcome(name, "skipped", "stopped by an operator (runs " + b.tag() + ")"));
    } else if (desired.equals(b.tag())) {
      s.replyTo().tell(new SyncOutcome(name, "current", b.def().image() + ":" + desired));
    } else if (b.failedVersions().contains(desired)) {
      s.replyTo().tell(new SyncOutcome(name, "held", desired + " failed before (see its history); not tried again until the DPU's version "
          + "changes or an operator starts " + name));
    } else if (b.crashLoopingSince() > 0) {
      s.replyTo().tell(new SyncOutcome(name, "skipped", "crash-looping"));
    } else if (b.tag().isEmpty()) { // defined since the initialization (a deploy): its first start
      cancelPendingRestart();
      ContainerDef def = b.def();
      run("starting", () -> npu.ensureImage(def.name(), def.image(), desired).thenCompose(v -> npu.start(def, desired))
          .thenCompose(v -> record(new ContainerEvent.Started(desired, "first start, by the version sync", now())))
          .thenApply(v -> new Result("started", def.image() + ":" + desired))
          .exceptionally(e -> new Result(NpuContainerz.unreachable(e) ? "deferred" : "failed", NpuContainerz.describe(e))),
          r -> s.replyTo().tell(new SyncOutcome(name, r.kind(), r.detail())));
    } else {
      cancelPendingRestart();
      ContainerDef def = b.def();
      String from = b.tag();
      String why = def.versionPolicy().equals(ContainerDef.MATCH_DPU) ? "the DPU runs " + s.dpuVersion() : "version-policy " + desired;
      run("upgrading", () -> upgrade(def, from, desired, why), r -> s.replyTo().tell(new SyncOutcome(name, r.kind(), r.detail())));
    }
    return Effect().none();
  }

  /**
   * From {@code from} to {@code to}: the image made present, the container replaced, then healthy for
   * {@code upgrade.min-healthy} within {@code upgrade.deadline}, else rolled back. {@code why} null: resuming one found
   * half done (its start is journaled already).
   */
  private CompletionStage<Result> upgrade(ContainerDef def, String from, String to, String why) {
    CompletionStage<Done> started = why == null ? CompletableFuture.completedFuture(Done.getInstance())
        : record(new ContainerEvent.UpgradeStarted(from, to, why, now()));
    return started.thenCompose(v -> {
      LOG.info("{} upgrading {} -> {}", tag(), from, to);
      return npu.ensureImage(def.name(), def.image(), to);
    }).thenCompose(v -> npu.seen(def.name())).thenCompose(seen -> seen.running() && seen.image().equals(def.image() + ":" + to)
        ? CompletableFuture.completedFuture("already running") : npu.replace(def, to))
        .thenCompose(how -> healthyFor(def, to))
        .thenCompose(v -> record(new ContainerEvent.Upgraded(from, to, now())).thenApply(d -> new Result("upgraded", def.image() + ":" + from
            + " -> " + to + ", healthy for " + settings.upgrade().minHealthy().toSeconds() + " s")))
        .exceptionallyCompose(e -> {
          String failure = NpuContainerz.describe(e);
          if (NpuContainerz.unreachable(e)) { // not the new version's fault: it goes on when the NPU answers
            return CompletableFuture.completedFuture(new Result("deferred", "upgrade to " + to + " put off: " + failure));
          }
          LOG.error("{} upgrade {} -> {} failed: {}; rolling back to {}", tag(), from, to, failure, from);
          return record(new ContainerEvent.UpgradeFailed(to, from, failure, now())).thenCompose(d -> rollback(def, to, from))
              .thenApply(r -> r.kind().equals("rolled-back") ? new Result("rolled-back", to + " failed (" + failure + "); " + r.detail())
                  : new Result("failed", to + " failed (" + failure + "); " + r.detail()));
        });
  }

  /** Back from {@code failed} to {@code back}: its image made present again, the container replaced if need be, checked. */
  private CompletionStage<Result> rollback(ContainerDef def, String failed, String back) {
    return npu.ensureImage(def.name(), def.image(), back).thenCompose(how -> npu.seen(def.name()))
        .thenCompose(seen -> seen.running() && seen.image().equals(def.image() + ":" + back) ? CompletableFuture.completedFuture("it runs already")
            : npu.replace(def, back))
        .thenCompose(how -> healthyFor(def, back))
        .thenCompose(v -> record(new ContainerEvent.RolledBack(back, now())).thenApply(d -> {
          LOG.warn("{} rolled back from {} to {}: healthy again; {} is not tried again until the DPU's version changes", tag(), failed,
              back, failed);
          return new Result("rolled-back", "rolled back to " + def.image() + ":" + back + ", healthy");
        }))
        .exceptionallyCompose(e -> {
          String failure = NpuContainerz.describe(e);
          if (NpuContainerz.unreachable(e)) {
            return CompletableFuture.completedFuture(new Result("deferred", "rollback to " + back + " put off: " + failure));
          }
          LOG.error("{} rollback from {} to {} failed: {}; the monitor restarts it", tag(), failed, back, failure);
          return record(new ContainerEvent.RollbackFailed(back, failure, now())).thenApply(d -> new Result("failed", "the rollback to " + back
              + " failed too: " + failure));
        });
  }

  /** Healthy without a break for {@code upgrade.min-healthy}, checked every {@code health.interval}, before {@code upgrade.deadline}. */
  private CompletionStage<Done> healthyFor(ContainerDef def, String version) {
    long deadline = now() + settings.upgrade().deadline().toMillis();
    return healthyFrom(def, version, deadline, 0, null);
  }

  private CompletionStage<Done> healthyFrom(ContainerDef def, String version, long deadline, long since, Health last) {
    if (now() >= deadline) {
      String why = "not healthy for " + settings.upgrade().minHealthy().toSeconds() + " s within " + settings.upgrade().deadline().toSeconds()
          + " s (dpu-coordinator.offloader.upgrade.deadline); last check: " + (last == null ? "none" : last.why());
      // an NPU that could not be asked says nothing against the version: put off, not failed
      return CompletableFuture.failedFuture(last != null && !last.known() ? new java.util.concurrent.TimeoutException(why)
          : new IllegalStateException(why));
    }
    return check(def, version).thenCompose(h -> {
      long start = h.healthy() ? (since == 0 ? now() : since) : 0;
      if (start > 0 && now() - start >= settings.upgrade().minHealthy().toMillis()) {
        return CompletableFuture.completedFuture(Done.getInstance());
      }
      return after(settings.health().interval()).thenCompose(v -> healthyFrom(def, version, deadline, start, h));
    });
  }

  private static CompletionStage<Void> after(Duration d) {
    return CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(d.toMillis(), TimeUnit.MILLISECONDS));
  }

  // ---- flows ----

  /** Journals {@code e} through this actor (a flow's milestone) and completes once it is written. */
  private CompletionStage<Done> record(ContainerEvent e) {
    return AskPattern.<Command, Done>ask(self, ack -> new Record(e, ack), Duration.ofSeconds(30), scheduler);
  }

  /** Runs {@code flow} as this container's one operation; {@code then} hears its result (a failure as kind "failed"). */
  private void run(String what, Supplier<CompletionStage<Result>> flow, Consumer<Result> then) {
    busy = what;
    CompletionStage<Result> stage;
    try {
      stage = flow.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(stage, (r, f) -> new FlowEnded(r, f, then));
  }

  private Effect<ContainerEvent, ContainerBook> onFlowEnded(ContainerBook b, FlowEnded f) {
    busy = null;
    failuresInARow = 0;
    healthySinceMs = 0;
    Result r = f.result() != null ? f.result() : new Result("failed", NpuContainerz.describe(f.failure()));
    if (r.kind().equals("deferred")) { // said once; it is tried again every health interval until the NPU answers
      if (!deferred) {
        ctx.getLog().warn("{} {}; it goes on when the NPU answers (tried every {} ms)", tag(), r.detail(), settings.health().interval().toMillis());
      }
      deferred = true;
      healthDetail = r.detail();
    } else {
      deferred = false;
    }
    if (f.failure() != null) {
      ctx.getLog().warn("{} {}", tag(), r.detail());
      healthDetail = r.detail();
    }
    f.then().accept(r);
    return Effect().none().thenUnstashAll();
  }
}
