package io.github.dpucoordinator.offloader;

import io.github.dpucoordinator.npu.journal.JournalHealth;
import io.github.dpucoordinator.common.CborSerializable;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The offloader: one {@link OffloadedContainer} per offloaded container (from the configuration, and those defined by
 * {@code offloadctl deploy}, which it journals), the initialization sequence (seed 7.1), and the version sync, which
 * upgrades them one at a time in the configured order and stops at the first that fails. It reads the DPU's version
 * every {@code health.interval} and syncs again when it changes.
 */
public final class Offloader extends EventSourcedBehavior<Offloader.Command, Offloader.Registered, Offloader.Registry> {
  public interface Command {}

  /** A container defined by a deploy, journaled so it is known after a restart. */
  public record Registered(ContainerDef def, long atMs) implements CborSerializable {}

  public record Registry(Map<String, ContainerDef> deployed) implements CborSerializable {
    public Registry {
      deployed = Map.copyOf(deployed);
    }
  }

  /** Runs the initialization sequence, then the version sync; {@code replyTo} hears the summary lines. */
  public record Init(ActorRef<List<String>> replyTo) implements Command {}

  /** Runs the version sync now; {@code replyTo} (may be null) hears each container's outcome. */
  public record SyncNow(ActorRef<List<OffloadedContainer.SyncOutcome>> replyTo) implements Command {}

  public record Define(ContainerDef def, ActorRef<Done> replyTo) implements Command {}

  public record ListAll(ActorRef<Listing> replyTo) implements Command {}

  public record Listing(String dpuId, String dpuVersion, boolean paused, List<OffloadedContainer.View> containers) {}

  /** The actor of one container, if there is one by that name. */
  public record Find(String name, ActorRef<java.util.Optional<ActorRef<OffloadedContainer.Command>>> replyTo) implements Command {}

  public record Pause(boolean paused) implements Command {}

  public record HaltStop(ActorRef<List<OffloadedContainer.Reply>> replyTo) implements Command {}

  private enum VersionTick implements Command { INSTANCE }

  private record SyncEnded(List<OffloadedContainer.SyncOutcome> outcomes, Throwable failure) implements Command {}

  private record Gathered(Listing listing) implements Command {}

  public static Behavior<Command> create(OffloaderSettings settings, NpuContainerz npu, Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Offloader(ctx, timers, settings, npu, clock)));
  }

  private final ActorContext<Command> ctx;
  private final JournalHealth.Entity journal;
  private final TimerScheduler<Command> timers;
  private final OffloaderSettings settings;
  private final NpuContainerz npu;
  private final Clock clock;
  private final Map<String, ActorRef<OffloadedContainer.Command>> children = new TreeMap<>();
  private final List<ActorRef<List<OffloadedContainer.SyncOutcome>>> syncWaiters = new ArrayList<>();
  private boolean syncing;
  private boolean syncAgain;
  private boolean syncAgainLater;
  private boolean paused;
  private String dpuVersion;

  private Offloader(ActorContext<Command> ctx, TimerScheduler<Command> timers, OffloaderSettings settings, NpuContainerz npu, Clock clock) {
    super(PersistenceId.ofUniqueId("offloader|" + settings.dpuId()),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.journal = JournalHealth.get(ctx.getSystem()).of("offloader|" + settings.dpuId());
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.npu = npu;
    this.clock = clock;
    this.dpuVersion = DpuVersion.read(settings);
  }

  private String tag() {
    return "[container=all dpu=" + settings.dpuId() + "]";
  }

  @Override
  public Registry emptyState() {
    return new Registry(Map.of());
  }

  @Override
  public EventHandler<Registry, Registered> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((r, e) -> {
      Map<String, ContainerDef> next = new TreeMap<>(r.deployed());
      next.put(e.def().name(), e.def());
      return new Registry(next);
    });
  }

  private EffectBuilder<Registered, Registry> persist(Registered event) { // a write the journal does not confirm is logged and listed
    return journal.track(lastSequenceNumber(ctx) + 1, event, Effect().persist(event));
  }

  @Override
  public SignalHandler<Registry> signalHandler() {
    return newSignalHandlerBuilder().onSignal(org.apache.pekko.persistence.typed.RecoveryFailed.class, (state, f) -> journal.recoveryFailed(f.getFailure()))
        .onSignal(RecoveryCompleted.instance(), registry -> {
      journal.recovered();
      Map<String, ContainerDef> all = new LinkedHashMap<>(registry.deployed());
      settings.containers().forEach(d -> all.put(d.name(), d)); // the configuration wins over an earlier deploy of the same name
      all.values().forEach(this::child);
      timers.startTimerWithFixedDelay(VersionTick.INSTANCE, settings.health().interval());
      ctx.getLog().info("{} offloader for DPU {} (version {}): {} container(s) on the NPU at {}", tag(), settings.dpuId(), dpuVersion,
          all.size(), settings.npuAddress());
    }).build();
  }

  private ActorRef<OffloadedContainer.Command> child(ContainerDef def) {
    ActorRef<OffloadedContainer.Command> c = children.computeIfAbsent(def.name(), n -> ctx.spawn(Behaviors.supervise(
        OffloadedContainer.create(n, settings, npu, clock)).onFailure(SupervisorStrategy.restart()), "container-" + n));
    c.tell(new OffloadedContainer.Define(def));
    return c;
  }

  @Override
  public CommandHandler<Command, Registered, Registry> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Init.class, (r, i) -> {
          init(i.replyTo());
          return Effect().none();
        })
        .onCommand(SyncNow.class, (r, s) -> {
          sync(s.replyTo());
          return Effect().none();
        })
        .onCommand(SyncEnded.class, (r, e) -> onSyncEnded(e))
        .onCommand(VersionTick.class, (r, t) -> {
          String now = DpuVersion.read(settings, dpuVersion);
          if (!now.equals(dpuVersion)) {
            ctx.getLog().warn("{} the DPU's version changed: {} -> {}; syncing the offloaded containers", tag(), dpuVersion, now);
            dpuVersion = now;
            sync(null);
          } else if (syncAgainLater && !syncing) { // the last sync could not reach the NPU
            syncAgainLater = false;
            sync(null);
          }
          return Effect().none();
        })
        .onCommand(Define.class, (r, d) -> {
          boolean fromConfig = settings.containers().stream().anyMatch(c -> c.name().equals(d.def().name()));
          if (fromConfig) {
            child(d.def());
            d.replyTo().tell(Done.getInstance());
            return Effect().none();
          }
          return persist(new Registered(d.def(), clock.millis())).thenRun(x -> {
            child(d.def());
            d.replyTo().tell(Done.getInstance());
          });
        })
        .onCommand(ListAll.class, (r, l) -> {
          gather().thenAccept(views -> l.replyTo().tell(new Listing(settings.dpuId(), dpuVersion, paused, views)));
          return Effect().none();
        })
        .onCommand(Find.class, (r, f) -> {
          f.replyTo().tell(java.util.Optional.ofNullable(children.get(f.name())));
          return Effect().none();
        })
        .onCommand(Pause.class, (r, p) -> {
          paused = p.paused();
          children.values().forEach(c -> c.tell(new OffloadedContainer.Pause(p.paused())));
          ctx.getLog().info("{} health monitor {}", tag(), p.paused() ? "paused: the DPU is shutting down or rebooting" : "resumed");
          return Effect().none();
        })
        .onCommand(HaltStop.class, (r, h) -> {
          paused = true;
          List<CompletionStage<OffloadedContainer.Reply>> stops = new ArrayList<>();
          children.values().forEach(c -> stops.add(AskPattern.ask(c, OffloadedContainer.HaltStop::new, settings.haltStopTimeout(),
              ctx.getSystem().scheduler())));
          all(stops).thenAccept(h.replyTo()::tell);
          return Effect().none();
        })
        .build();
  }

  private CompletionStage<List<OffloadedContainer.View>> gather() {
    List<CompletionStage<OffloadedContainer.View>> views = new ArrayList<>();
    children.values().forEach(c -> views.add(AskPattern.ask(c, OffloadedContainer.Get::new, Duration.ofSeconds(10), ctx.getSystem().scheduler())));
    return all(views);
  }

  private static <T> CompletionStage<List<T>> all(List<CompletionStage<T>> stages) {
    CompletableFuture<List<T>> out = CompletableFuture.completedFuture(new ArrayList<>());
    for (CompletionStage<T> s : stages) {
      out = out.thenCombine(s, (list, v) -> {
        list.add(v);
        return list;
      });
    }
    return out;
  }

  /** Seed 7.1: each container running at its version, else started; one summary line each; then the version sync. */
  private void init(ActorRef<List<String>> replyTo) {
    paused = false;
    children.values().forEach(c -> c.tell(new OffloadedContainer.Pause(false)));
    Duration wait = settings.startTimeout();
    List<CompletionStage<String>> lines = new ArrayList<>();
    children.values().forEach(c -> lines.add(AskPattern.<OffloadedContainer.Command, String>ask(c, r -> new OffloadedContainer.Ensure(dpuVersion, r),
        wait, ctx.getSystem().scheduler()).exceptionally(e -> "init: no answer: " + NpuContainerz.describe(e))));
    ActorRef<Command> self = ctx.getSelf();
    all(lines).thenAccept(summary -> {
      if (replyTo != null) {
        replyTo.tell(summary);
      }
      self.tell(new SyncNow(null));
    });
  }

  /** One at a time in the configured order (then by name); the first that fails or is held stops the rest. */
  private void sync(ActorRef<List<OffloadedContainer.SyncOutcome>> replyTo) {
    if (replyTo != null) {
      syncWaiters.add(replyTo);
    }
    if (syncing) {
      syncAgain = true;
      return;
    }
    syncing = true;
    List<String> order = new ArrayList<>(settings.upgrade().order());
    children.keySet().stream().filter(n -> !order.contains(n)).sorted(Comparator.naturalOrder()).forEach(order::add);
    String version = dpuVersion;
    Duration wait = settings.upgrade().deadline().multipliedBy(2).plus(settings.deployTimeout().multipliedBy(2))
        .plus(settings.callTimeout().multipliedBy(8));
    org.apache.pekko.actor.typed.Scheduler scheduler = ctx.getSystem().scheduler();
    CompletionStage<List<OffloadedContainer.SyncOutcome>> run = CompletableFuture.completedFuture(new ArrayList<>());
    for (String name : order) {
      ActorRef<OffloadedContainer.Command> c = children.get(name);
      run = run.thenCompose(done -> {
        if (!done.isEmpty() && done.get(done.size() - 1).stopsTheRest()) {
          OffloadedContainer.SyncOutcome stopper = done.get(done.size() - 1);
          done.add(new OffloadedContainer.SyncOutcome(name, "not-tried", "after " + stopper.name() + " " + stopper.result()));
          return CompletableFuture.completedFuture(done);
        }
        return AskPattern.<OffloadedContainer.Command, OffloadedContainer.SyncOutcome>ask(c, r -> new OffloadedContainer.Sync(version, r), wait,
            scheduler).thenApply(o -> {
              done.add(o);
              return done;
            });
      });
    }
    ctx.pipeToSelf(run, SyncEnded::new);
  }

  private Effect<Registered, Registry> onSyncEnded(SyncEnded e) {
    syncing = false;
    if (e.failure() != null) {
      ctx.getLog().warn("{} version sync to {} ended early: {}", tag(), dpuVersion, NpuContainerz.describe(e.failure()));
    } else {
      e.outcomes().stream().filter(o -> !o.result().equals("current")).forEach(o ->
          ctx.getLog().info("[container={} dpu={}] version sync ({}): {}: {}", o.name(), settings.dpuId(), dpuVersion, o.result(), o.detail()));
    }
    List<OffloadedContainer.SyncOutcome> outcomes = e.outcomes() != null ? e.outcomes() : List.of();
    syncAgainLater = e.failure() != null || outcomes.stream().anyMatch(o -> o.result().equals("deferred"));
    syncWaiters.forEach(w -> w.tell(outcomes));
    syncWaiters.clear();
    if (syncAgain) {
      syncAgain = false;
      sync(null);
    }
    return Effect().none();
  }
}
