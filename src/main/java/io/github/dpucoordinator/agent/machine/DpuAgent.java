package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.StepRunner;
import io.github.dpucoordinator.common.StepSpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The DPU side of a coordinated reboot: seed 000's DPU state machine, Listening -> ShutdownInitiated
 * -> Shutdown -> ShutdownComplete -> WaitForRestart -> Listening.
 *
 * <p>Protocol-agnostic: the seed's RebootService and gNOI System translate their requests into
 * {@link Signal}, {@link Cancel} and {@link GetState}. A signal is answered at once (receipt);
 * completion is visible through the state, and {@link GetState} can be held open until the state
 * changes (a long poll). {@link Method#SIGNAL} (the seed's service) and HALT stay down after the
 * shutdown until restarted; COLD and WARM then run the restart action.
 *
 * <p>Every reboot runs the tenant cleanup first, then the shutdown steps ({@link ShutdownPlan}); a host
 * reboot signal of kind warm runs only the cleanup and stays in Listening. {@link SetHold} sets the
 * {@link Holds}: a protective state holds the shutdown part back (and refuses gNOI reboots), a
 * deferral answers host reboot signals DEFERRED unless forced. gNOI has no deferral.
 */
public final class DpuAgent extends AbstractBehavior<DpuAgent.Command> implements DpuAgentProtocol {

  private enum Restarted implements Command { INSTANCE }

  private enum DelayElapsed implements Command { INSTANCE }

  private record RestartActionDone(StepResult result) implements Command {}

  /** The facts of this boot ({@link AgentBoot}) are made here, so they outlive a supervised restart of the actor. */
  public static Behavior<Command> create(AgentSettings settings, Clock clock) {
    return create(settings, clock, Map.of());
  }

  /** {@code builtins}: shutdown steps done in this JVM (a step whose command is {@code builtin:<name>}). */
  public static Behavior<Command> create(AgentSettings settings, Clock clock,
      Map<String, java.util.function.Function<java.time.Duration, java.util.concurrent.CompletionStage<StepResult>>> builtins) {
    AgentBoot boot = new AgentBoot();
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new DpuAgent(ctx, timers, settings, clock, boot, builtins)));
  }

  private final TimerScheduler<Command> timers;
  private final AgentSettings settings;
  private final Clock clock;
  private final StepRunner runner;

  private AgentState state = AgentState.LISTENING;
  private long version = 1;
  private long since;
  /** When the shutdown under way began (0: none), for its duration's metric. */
  private long shutdownBegan;
  private final AgentBoot boot;
  private String campaignId = "";
  private final AgentHolds holds;
  private List<String> joinedCampaigns = new ArrayList<>();
  private final ShutdownSteps steps;
  private final RebootProgress reboot = new RebootProgress();
  private final LongPolls polls;

  private DpuAgent(ActorContext<Command> ctx, TimerScheduler<Command> timers, AgentSettings settings, Clock clock, AgentBoot boot,
      Map<String, java.util.function.Function<java.time.Duration, java.util.concurrent.CompletionStage<StepResult>>> builtins) {
    super(ctx);
    this.boot = boot;
    this.timers = timers;
    this.polls = new LongPolls(timers);
    this.holds = new AgentHolds(timers, settings, clock, ctx.getLog(), this::logCampaign, this::holdsChanged);
    this.settings = settings;
    this.clock = clock;
    this.since = clock.millis();
    this.runner = new StepRunner(ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking()), builtins);
    this.steps = new ShutdownSteps(ctx, timers, runner, settings.dpuId(), () -> campaignId, holds::current, this::stepsDone);
    ctx.getLog().info("[dpu={}] agent started in LISTENING with {} shutdown step(s)", settings.dpuId(), settings.shutdownSteps().size());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Signal.class, m -> publishing(() -> onSignal(m)))
        .onMessage(Cancel.class, m -> publishing(() -> onCancel(m)))
        .onMessage(SetHold.class, m -> publishing(() -> holds(() -> holds.onSet(m))))
        .onMessage(AgentHolds.ProtectiveExpired.class, m -> publishing(() -> holds(() -> holds.onProtectiveExpired(m))))
        .onMessage(AgentHolds.DeferralExpired.class, m -> publishing(() -> holds(() -> holds.onDeferralExpired(m))))
        .onMessage(GetState.class, m -> {
          polls.ask(m, version, this::snapshot);
          return this;
        })
        .onMessage(ShutdownSteps.StepFinished.class, m -> publishing(() -> {
          steps.finished(m, state.shuttingDown());
          return this;
        }))
        .onMessage(LongPolls.Expired.class, m -> {
          polls.expired(m, this::snapshot);
          return this;
        })
        .onMessageEquals(DelayElapsed.INSTANCE, () -> publishing(this::onDelayElapsed))
        .onMessage(RestartActionDone.class, m -> publishing(() -> onRestartActionDone(m)))
        .onMessageEquals(Restarted.INSTANCE, () -> publishing(this::onRestarted))
        .onMessageEquals(SimulatedPowerCycle.INSTANCE, () -> publishing(this::onPowerCycle))
        .build();
  }

  /**
   * Runs a handler, then answers the held long polls once with the state it ended in: a handler
   * that passes through several states (ShutdownComplete -> WaitForRestart) costs one reply each.
   */
  private Behavior<Command> publishing(Supplier<Behavior<Command>> handler) {
    long before = version;
    Behavior<Command> next = handler.get();
    if (version != before) {
      polls.publish(this::snapshot);
    }
    return next;
  }

  private Behavior<Command> onSignal(Signal signal) {
    String requested = signal.campaignId();
    SignalTriage.Answer at = SignalTriage.triage(signal, state, campaignId, holds, boot, reboot);
    if (at != null) {
      if (at.join() && !requested.isEmpty() && !joinedCampaigns.contains(requested)) {
        joinedCampaigns.add(requested);
      }
      if (!at.remember().isEmpty()) {
        remember(at.remember()); // already safe to reboot: the new campaign is complete without running the shutdown again
      }
      return reply(signal, at.disposition(), at.campaignId(), at.text(), at.deferUntil(), at.detail());
    }
    campaignId = requested.isEmpty() ? Ids.unnamed("dpu-") : requested;
    joinedCampaigns = new ArrayList<>(List.of(campaignId));
    if (!signal.delay().isZero() && !signal.delay().isNegative()) {
      reboot.schedule(signal, clock.millis() + signal.delay().toMillis());
      timers.startSingleTimer("delayed-reboot", DelayElapsed.INSTANCE, signal.delay());
      version++;
      getContext().getLog().info("[campaign={} dpu={}] {} scheduled in {} ms", campaignId, settings.dpuId(), signal.method(),
          signal.delay().toMillis());
      return reply(signal, Disposition.SCHEDULED, campaignId, signal.method() + " scheduled in " + signal.delay().toMillis() + " ms", 0, "");
    }
    begin(signal);
    return reply(signal, Disposition.STARTED, campaignId, "graceful shutdown initiated", 0, "");
  }

  /** Starts the shutdown (or, warm, the cleanup) for {@code signal}, now. */
  private void begin(Signal signal) {
    boot.shutdownRuns++;
    steps.begin(ShutdownPlan.of(settings, signal.warm()), boot.shutdownRuns);
    ShutdownPlan plan = steps.plan();
    reboot.start(signal, clock.millis());
    getContext().getLog().info("[campaign={} dpu={}] {} received (kind={}, reason='{}'); starting {}", campaignId, settings.dpuId(),
        signal.describe(), signal.kind(), signal.reason(), plan.cleanupOnly() ? "tenant cleanup only (warm: the DPU keeps running)" : "graceful shutdown");
    if (holds.current().protectiveActive() && !plan.cleanupOnly()) {
      getContext().getLog().warn("[campaign={} dpu={}] {} holds: tenant cleanup runs, the shutdown waits until it clears",
          campaignId, settings.dpuId(), holds.current().protectiveDescription());
    }
    if (state.shutDown()) {
      // A COLD or WARM reboot of a DPU that is already down: nothing left to stop, only the restart.
      finishShutdown();
      return;
    }
    moveTo(AgentState.SHUTDOWN_INITIATED);
    // Replied in Shutdown, with its version, so the NPU's next long poll waits for completion.
    moveTo(AgentState.SHUTDOWN);
    steps.step(0);
  }

  private Behavior<Command> onDelayElapsed() {
    Signal signal = reboot.unschedule();
    if (signal != null) {
      begin(signal);
    }
    return this;
  }

  private Behavior<Command> onCancel(Cancel cancel) {
    if (reboot.pending() != null) {
      getContext().getLog().info("[campaign={} dpu={}] scheduled {} cancelled", campaignId, settings.dpuId(), reboot.unschedule().method());
      timers.cancel("delayed-reboot");
      version++;
      cancel.replyTo().tell(CancelOutcome.CANCELLED);
    } else if (state.shuttingDown() || reboot.restarting(state)) {
      cancel.replyTo().tell(CancelOutcome.ALREADY_RUNNING);
    } else {
      cancel.replyTo().tell(CancelOutcome.NOTHING_PENDING);
    }
    return this;
  }

  /** The steps ended: the shutdown is complete or, for a warm host reboot, only the tenant cleanup ran. */
  private void stepsDone() {
    if (!steps.plan().cleanupOnly()) {
      finishShutdown();
      return;
    }
    // A warm host reboot: the DPU keeps power and keeps serving, so after its cleanup it is Listening again.
    joinedCampaigns.forEach(this::remember);
    reboot.finished();
    moveTo(AgentState.SHUTDOWN_COMPLETE);
    moveTo(AgentState.LISTENING);
    getContext().getLog().info("[campaign={} dpu={}] tenant cleanup complete{}; warm host reboot: the DPU keeps running, back to LISTENING",
        campaignId, settings.dpuId(), steps.degraded() ? " (degraded)" : "");
  }

  private void finishShutdown() {
    joinedCampaigns.forEach(this::remember);
    moveTo(AgentState.SHUTDOWN_COMPLETE);
    moveTo(AgentState.WAIT_FOR_RESTART);
    String degraded = steps.degraded() ? " (degraded)" : "";
    if (reboot.method().restarts()) {
      getContext().getLog().info("[campaign={} dpu={}] shutdown complete{}; {} restart", campaignId, settings.dpuId(), degraded, reboot.method());
      restartAction();
    } else {
      reboot.finished();
      getContext().getLog().info("[campaign={} dpu={}] shutdown complete{}; waiting for restart", campaignId, settings.dpuId(), degraded);
      settings.restartAfter().ifPresent(after -> timers.startSingleTimer("restart", Restarted.INSTANCE, after));
    }
  }

  /** After a COLD or WARM shutdown: the configured reboot command, or a simulated restart. */
  private void restartAction() {
    if (settings.rebootCommand().isBlank()) {
      timers.startSingleTimer("restart", Restarted.INSTANCE, settings.simulatedRebootTime());
    } else {
      StepSpec reboot = StepSpec.command("reboot", settings.rebootCommand(), settings.rebootCommandTimeout());
      getContext().pipeToSelf(runner.run(reboot, reboot.timeout()), (result, failure) ->
          new RestartActionDone(Failures.orFailed(result, failure, "reboot")));
    }
  }

  private Behavior<Command> onRestartActionDone(RestartActionDone done) {
    // A real reboot ends this process; if the command returns, the reboot failed: say so, stay down.
    reboot.failed("reboot command returned without rebooting (" + (done.result().ok() ? "exit 0" : done.result().detail()) + ")");
    version++;
    getContext().getLog().error("[campaign={} dpu={}] {}; staying down until restarted", campaignId, settings.dpuId(), reboot.failure());
    return this;
  }

  private Behavior<Command> onPowerCycle() {
    steps.cutOff();
    timers.cancel("restart");
    timers.cancel("delayed-reboot");
    reboot.unschedule();
    if (state.shuttingDown()) {
      getContext().getLog().warn("[campaign={} dpu={}] power-cycled before its shutdown completed", campaignId, settings.dpuId());
    }
    return onRestarted();
  }

  private Behavior<Command> onRestarted() {
    boot.rebooted();
    reboot.reset();
    getContext().getLog().info("[campaign={} dpu={}] restarted; back to LISTENING", campaignId, settings.dpuId());
    moveTo(AgentState.LISTENING);
    return this;
  }

  private Behavior<Command> holds(Runnable change) {
    change.run();
    return this;
  }

  /** Every hold change is a new state version (held long polls answer); a cleared protective state resumes a held shutdown. */
  private void holdsChanged() {
    version++;
    if (!holds.current().protectiveActive() && state.shuttingDown()) {
      steps.resumeIfHeld();
    }
  }

  /** The campaign a hold line is about: the one running now, else none (not the last one, long over). */
  private String logCampaign() {
    boolean running = reboot.active(state);
    return running && !campaignId.isEmpty() ? campaignId : "none";
  }

  private void moveTo(AgentState next) {
    long now = clock.millis();
    if (next == AgentState.SHUTDOWN_INITIATED) {
      shutdownBegan = now;
    } else if (next == AgentState.SHUTDOWN_COMPLETE && shutdownBegan > 0) {
      AgentMetrics.shutdown(settings.dpuId(), now - shutdownBegan, steps.degraded());
      shutdownBegan = 0;
    }
    state = next;
    version++;
    since = now;
  }

  private void remember(String id) {
    boot.remember(id, settings.rememberedCampaigns());
  }

  private Behavior<Command> reply(Signal signal, Disposition disposition, String id, String text, long deferUntil, String detail) {
    String ack = "ACK " + disposition + ": " + text + " (dpu " + settings.dpuId() + ", campaign " + id + ", state " + state + ")";
    Holds h = holds.current();
    AgentMetrics.signal(settings.dpuId(), disposition.name());
    signal.replyTo().tell(new SignalOutcome(disposition, id, state, version, ack, deferUntil, detail, h.protective(),
        h.protectiveActive() ? h.protectiveReason() : ""));
    return this;
  }

  private AgentSnapshot snapshot() {
    return new AgentSnapshot(settings.dpuId(), state, version, campaignId, List.copyOf(boot.completed), steps.degraded(),
        List.copyOf(steps.results()), boot.shutdownRuns, boot.id, since, reboot.snapshot(state), holds.current());
  }
}
