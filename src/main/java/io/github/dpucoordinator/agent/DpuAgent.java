package io.github.dpucoordinator.agent;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.StepRunner;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.common.UtcTime;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
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
public final class DpuAgent extends AbstractBehavior<DpuAgent.Command> {

  /** What was asked for: the seed's reboot signal, or a gNOI reboot method. */
  public enum Method {
    SIGNAL, HALT, COLD, WARM;

    boolean restarts() {
      return this == COLD || this == WARM;
    }
  }

  public sealed interface Command {}

  /**
   * Asks for a graceful shutdown by {@code method}; an empty campaign id means "a new request each
   * time"; {@code delay} > 0 schedules it (see {@link Cancel}). {@code kind} is the host reboot's kind
   * (cold, warm, power-off) for {@link Method#SIGNAL}, "gnoi" for gNOI, "dpu-reboot" for the DPU's own;
   * {@code force} overrides a deferral.
   */
  public record Signal(String campaignId, Method method, String kind, String reason, long deadlineMillis, Duration delay,
      boolean force, ActorRef<SignalOutcome> replyTo) implements Command {

    /** Without force: what every caller but the NPU's RebootService signal sends. */
    public Signal(String campaignId, Method method, String kind, String reason, long deadlineMillis, Duration delay,
        ActorRef<SignalOutcome> replyTo) {
      this(campaignId, method, kind, reason, deadlineMillis, delay, false, replyTo);
    }

    public static final String GNOI = "gnoi";

    /** The NPU's host reboot, over the seed's RebootService: the only kind of signal a deferral holds off. */
    boolean hostReboot() {
      return method == Method.SIGNAL;
    }

    /** A warm host reboot: the DPU keeps power, so only its tenant cleanup runs. */
    boolean warm() {
      return hostReboot() && "warm".equals(kind);
    }

    boolean fromGnoi() {
      return GNOI.equals(kind);
    }
  }

  /**
   * Sets a hold: {@code firmware-update} or {@code crash-dump} (protective; {@code durationMs} 0 = until
   * cleared), {@code defer} (host reboots, for {@code durationMs}, capped by max-defer) or {@code clear}.
   */
  public record SetHold(String hold, String reason, long durationMs, ActorRef<Holds.Change> replyTo) implements Command {}

  /** Cancels a scheduled (delayed) reboot. */
  public record Cancel(ActorRef<CancelOutcome> replyTo) implements Command {}

  public enum CancelOutcome { CANCELLED, NOTHING_PENDING, ALREADY_RUNNING }

  /** Current state, or (wait > 0) the state as soon as its version differs from knownVersion. */
  public record GetState(long knownVersion, Duration maxWait, ActorRef<AgentSnapshot> replyTo) implements Command {}

  /**
   * {@code deferUntilMillis} and {@code detail} (why) go with DEFERRED; {@code detail} with REFUSED names
   * the protective state.
   */
  public record SignalOutcome(Disposition disposition, String campaignId, AgentState state, long version, String ack,
      long deferUntilMillis, String detail, String protective) {}

  /**
   * The restart the NPU reboot causes, for simulations: whatever the agent was doing, it comes back
   * in Listening with a new boot id (a shutdown in progress is cut off, as a power cycle would).
   */
  public enum SimulatedPowerCycle implements Command { INSTANCE }

  /** {@code run} tells an interrupted shutdown's late step results from the current one's. */
  private record StepFinished(long run, int index, StepResult result) implements Command {}

  private record WaitExpired(long waiterId) implements Command {}

  private enum Restarted implements Command { INSTANCE }

  private enum DelayElapsed implements Command { INSTANCE }

  private record RestartActionDone(StepResult result) implements Command {}

  /** {@code until} tells the expiry of the current hold from one that was replaced since. */
  private record ProtectiveExpired(long until) implements Command {}

  private record DeferralExpired(long until) implements Command {}

  /**
   * {@code boot}: facts of this boot of the DPU, made here so that they outlive a supervised restart of the actor (a
   * restart is not a reboot: the NPU must not see a new boot id, a reset reboot count or forgotten campaigns).
   */
  public static Behavior<Command> create(AgentSettings settings, Clock clock) {
    ThisBoot boot = new ThisBoot();
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new DpuAgent(ctx, timers, settings, clock, boot)));
  }

  /** What belongs to the DPU's current boot rather than to one incarnation of the actor. */
  private static final class ThisBoot {
    String id = newBootId();
    /** Recently completed campaigns, so a redelivered signal never runs the shutdown twice. */
    final Deque<String> completed = new ArrayDeque<>();
    long shutdownRuns;
  }

  private final TimerScheduler<Command> timers;
  private final AgentSettings settings;
  private final Clock clock;
  private final StepRunner runner;

  private AgentState state = AgentState.LISTENING;
  private long version = 1;
  private long since;
  private final ThisBoot boot;
  private String campaignId = "";
  private ShutdownPlan plan = new ShutdownPlan(List.of(), 0, false);
  /** The step a protective state holds the shutdown at; -1 while none is held. */
  private int heldAt = -1;
  private Holds holds = Holds.NONE;
  private List<String> joinedCampaigns = new ArrayList<>();
  private List<StepResult> results = List.of();
  private boolean degraded;
  // the reboot in progress or last finished since this boot (what gNOI RebootStatus reports)
  private Method method;
  private String reason = "";
  private long startedAt;
  private boolean finished;
  /** Why the COLD/WARM restart action failed (it returned); empty while none did. */
  private String restartFailure = "";
  private Signal pending;
  private long pendingAt;
  private long nextWaiterId;
  private final Map<Long, ActorRef<AgentSnapshot>> waiters = new HashMap<>();

  private DpuAgent(ActorContext<Command> ctx, TimerScheduler<Command> timers, AgentSettings settings, Clock clock, ThisBoot boot) {
    super(ctx);
    this.boot = boot;
    this.timers = timers;
    this.settings = settings;
    this.clock = clock;
    this.since = clock.millis();
    this.runner = new StepRunner(ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking()));
    ctx.getLog().info("[dpu={}] agent started in LISTENING with {} shutdown step(s)", settings.dpuId(), settings.shutdownSteps().size());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Signal.class, m -> publishing(() -> onSignal(m)))
        .onMessage(Cancel.class, m -> publishing(() -> onCancel(m)))
        .onMessage(SetHold.class, m -> publishing(() -> onSetHold(m)))
        .onMessage(ProtectiveExpired.class, m -> publishing(() -> onProtectiveExpired(m)))
        .onMessage(DeferralExpired.class, m -> publishing(() -> onDeferralExpired(m)))
        .onMessage(GetState.class, this::onGetState)
        .onMessage(StepFinished.class, m -> publishing(() -> onStepFinished(m)))
        .onMessage(WaitExpired.class, this::onWaitExpired)
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
    if (version != before && !waiters.isEmpty()) {
      AgentSnapshot now = snapshot();
      waiters.forEach((id, waiter) -> {
        timers.cancel(new WaitExpired(id));
        waiter.tell(now);
      });
      waiters.clear();
    }
    return next;
  }

  private Behavior<Command> onSignal(Signal signal) {
    String requested = signal.campaignId();
    if (holds.protectiveActive()) {
      // A DPU must not be halted or reset during a firmware update or crash dump: nothing starts, the NPU asks again.
      getContext().getLog().warn("[campaign={} dpu={}] {} refused: {}", requested.isEmpty() ? "-" : requested, settings.dpuId(),
          signal.fromGnoi() ? "gNOI Reboot " + signal.method() : "reboot signal", holds.protectiveDescription());
      return reply(signal, Disposition.REFUSED, campaignId, holds.protectiveDescription(), 0, holds.protectiveDescription());
    }
    if (!requested.isEmpty() && boot.completed.contains(requested)) {
      return reply(signal, Disposition.ALREADY_COMPLETE, requested, "shutdown for this campaign already completed");
    }
    if (state.shuttingDown() || pending != null || restarting()) {
      join(requested);
      String what = pending != null ? "a reboot is scheduled" : restarting() ? "a reboot is restarting the DPU"
          : "graceful shutdown already in progress";
      return reply(signal, Disposition.IN_PROGRESS, campaignId, what);
    }
    long now = clock.millis();
    if (signal.hostReboot() && holds.deferring(now)) {
      String id = requested.isEmpty() ? "-" : requested;
      if (!signal.force()) {
        getContext().getLog().info("[campaign={} dpu={}] host reboot signal answered DEFERRED until {} ({})", id, settings.dpuId(),
            UtcTime.of(holds.deferUntil()), holds.deferReason());
        return reply(signal, Disposition.DEFERRED, requested, "deferred until " + UtcTime.of(holds.deferUntil()) + ": "
            + holds.deferReason(), holds.deferUntil(), holds.deferReason());
      }
      getContext().getLog().warn("[campaign={} dpu={}] host reboot signal is forced: deferral until {} ({}) ignored", id,
          settings.dpuId(), UtcTime.of(holds.deferUntil()), holds.deferReason());
    }
    if (state.shutDown() && !signal.method().restarts()) {
      // Already safe to reboot: the new campaign is complete without running the shutdown again.
      String id = requested.isEmpty() ? campaignId : requested;
      remember(id);
      return reply(signal, Disposition.ALREADY_COMPLETE, id, "already shut down, waiting for restart");
    }
    campaignId = requested.isEmpty() ? "dpu-" + UUID.randomUUID().toString().substring(0, 8) : requested;
    joinedCampaigns = new ArrayList<>(List.of(campaignId));
    if (!signal.delay().isZero() && !signal.delay().isNegative()) {
      pending = signal;
      pendingAt = clock.millis() + signal.delay().toMillis();
      timers.startSingleTimer("delayed-reboot", DelayElapsed.INSTANCE, signal.delay());
      version++;
      getContext().getLog().info("[campaign={} dpu={}] {} scheduled in {} ms", campaignId, settings.dpuId(), signal.method(),
          signal.delay().toMillis());
      return reply(signal, Disposition.SCHEDULED, campaignId, signal.method() + " scheduled in " + signal.delay().toMillis() + " ms");
    }
    begin(signal);
    return reply(signal, Disposition.STARTED, campaignId, "graceful shutdown initiated");
  }

  /** Starts the shutdown (or, warm, the cleanup) for {@code signal}, now. */
  private void begin(Signal signal) {
    boot.shutdownRuns++;
    plan = ShutdownPlan.of(settings, signal.warm());
    heldAt = -1;
    results = new ArrayList<>();
    degraded = false;
    method = signal.method();
    reason = signal.reason();
    startedAt = clock.millis();
    finished = false;
    restartFailure = "";
    getContext().getLog().info("[campaign={} dpu={}] {} received (kind={}, reason='{}'); starting {}", campaignId, settings.dpuId(),
        method == Method.SIGNAL ? "reboot signal" : signal.fromGnoi() ? "gNOI Reboot " + method : method + " reboot", signal.kind(),
        reason, plan.cleanupOnly() ? "tenant cleanup only (warm: the DPU keeps running)" : "graceful shutdown");
    if (holds.protectiveActive() && !plan.cleanupOnly()) {
      getContext().getLog().warn("[campaign={} dpu={}] {} holds: tenant cleanup runs, the shutdown waits until it clears",
          campaignId, settings.dpuId(), holds.protectiveDescription());
    }
    if (state.shutDown()) {
      // A COLD or WARM reboot of a DPU that is already down: nothing left to stop, only the restart.
      finishShutdown();
      return;
    }
    moveTo(AgentState.SHUTDOWN_INITIATED);
    // Replied in Shutdown, with its version, so the NPU's next long poll waits for completion.
    moveTo(AgentState.SHUTDOWN);
    startStep(0);
  }

  private Behavior<Command> onDelayElapsed() {
    Signal signal = pending;
    pending = null;
    if (signal != null) {
      begin(signal);
    }
    return this;
  }

  private Behavior<Command> onCancel(Cancel cancel) {
    if (pending != null) {
      getContext().getLog().info("[campaign={} dpu={}] scheduled {} cancelled", campaignId, settings.dpuId(), pending.method());
      timers.cancel("delayed-reboot");
      pending = null;
      version++;
      cancel.replyTo().tell(CancelOutcome.CANCELLED);
    } else if (state.shuttingDown() || restarting()) {
      cancel.replyTo().tell(CancelOutcome.ALREADY_RUNNING);
    } else {
      cancel.replyTo().tell(CancelOutcome.NOTHING_PENDING);
    }
    return this;
  }

  private void startStep(int index) {
    if (plan.heldByProtectiveState(index) && holds.protectiveActive()) {
      if (heldAt != index) {
        heldAt = index;
        getContext().getLog().warn("[campaign={} dpu={}] shutdown held at {}: {}; it resumes when the protective state clears",
            campaignId, settings.dpuId(), index < plan.steps().size() ? plan.label(index) : "completion", holds.protectiveDescription());
      }
      return;
    }
    heldAt = -1;
    List<StepSpec> steps = plan.steps();
    if (index >= steps.size()) {
      if (plan.cleanupOnly()) {
        finishCleanupOnly();
      } else {
        finishShutdown();
      }
      return;
    }
    StepSpec step = steps.get(index);
    getContext().getLog().info("[campaign={} dpu={}] {} '{}' started", campaignId, settings.dpuId(), plan.label(index), step.name());
    long run = boot.shutdownRuns;
    if (step.isSimulated()) {
      timers.startSingleTimer("step",
          new StepFinished(run, index, new StepResult(step.name(), true, "simulated", step.simulated().toMillis())), step.simulated());
    } else {
      getContext().pipeToSelf(runner.run(step, step.timeout()), (result, failure) ->
          new StepFinished(run, index, Failures.orFailed(result, failure, step.name())));
    }
  }

  private Behavior<Command> onStepFinished(StepFinished done) {
    if (done.run() != boot.shutdownRuns || !state.shuttingDown()) {
      return this; // a step of a shutdown that a power cycle cut off
    }
    StepResult r = done.result();
    results.add(r);
    if (r.ok()) {
      getContext().getLog().info("[campaign={} dpu={}] step '{}' done in {} ms", campaignId, settings.dpuId(), r.name(), r.millis());
    } else {
      // A failed step does not stop the shutdown: the NPU reboots anyway, so finish and report it.
      degraded = true;
      getContext().getLog().warn("[campaign={} dpu={}] step '{}' failed: {}; continuing", campaignId, settings.dpuId(), r.name(), r.detail());
    }
    startStep(done.index() + 1);
    return this;
  }

  private void finishShutdown() {
    joinedCampaigns.forEach(this::remember);
    moveTo(AgentState.SHUTDOWN_COMPLETE);
    moveTo(AgentState.WAIT_FOR_RESTART);
    if (method.restarts()) {
      getContext().getLog().info("[campaign={} dpu={}] shutdown complete{}; {} restart", campaignId, settings.dpuId(),
          degraded ? " (degraded)" : "", method);
      restartAction();
    } else {
      finished = true;
      getContext().getLog().info("[campaign={} dpu={}] shutdown complete{}; waiting for restart", campaignId, settings.dpuId(),
          degraded ? " (degraded)" : "");
      settings.restartAfter().ifPresent(after -> timers.startSingleTimer("restart", Restarted.INSTANCE, after));
    }
  }

  /** A warm host reboot: the DPU keeps power and keeps serving, so after its cleanup it is Listening again. */
  private void finishCleanupOnly() {
    joinedCampaigns.forEach(this::remember);
    finished = true;
    moveTo(AgentState.SHUTDOWN_COMPLETE);
    moveTo(AgentState.LISTENING);
    getContext().getLog().info("[campaign={} dpu={}] tenant cleanup complete{}; warm host reboot: the DPU keeps running, back to LISTENING",
        campaignId, settings.dpuId(), degraded ? " (degraded)" : "");
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
    restartFailure = "reboot command returned without rebooting (" + (done.result().ok() ? "exit 0" : done.result().detail()) + ")";
    finished = true;
    version++;
    getContext().getLog().error("[campaign={} dpu={}] {}; staying down until restarted", campaignId, settings.dpuId(), restartFailure);
    return this;
  }

  private Behavior<Command> onPowerCycle() {
    timers.cancel("step");
    timers.cancel("restart");
    timers.cancel("delayed-reboot");
    pending = null;
    heldAt = -1;
    if (state.shuttingDown()) {
      getContext().getLog().warn("[campaign={} dpu={}] power-cycled before its shutdown completed", campaignId, settings.dpuId());
    }
    return onRestarted();
  }

  private Behavior<Command> onRestarted() {
    boot.id = newBootId();
    // A restarted DPU reports no reboot in progress or finished: its status starts afresh, as SONiC's does.
    method = null;
    reason = "";
    startedAt = 0;
    finished = false;
    restartFailure = "";
    getContext().getLog().info("[campaign={} dpu={}] restarted; back to LISTENING", campaignId, settings.dpuId());
    moveTo(AgentState.LISTENING);
    return this;
  }

  private Behavior<Command> onSetHold(SetHold set) {
    long now = clock.millis();
    Holds.Change change = holds.apply(set.hold(), set.reason(), set.durationMs(), now, settings.maxDefer());
    if (!change.accepted()) {
      getContext().getLog().warn("[campaign={} dpu={}] hold '{}' refused: {}", logCampaign(), settings.dpuId(), set.hold(), change.message());
      set.replyTo().tell(change);
      return this;
    }
    getContext().getLog().info("[campaign={} dpu={}] hold: {}", logCampaign(), settings.dpuId(), change.message());
    changeHolds(change.holds());
    set.replyTo().tell(change);
    return this;
  }

  private Behavior<Command> onProtectiveExpired(ProtectiveExpired expired) {
    if (holds.protectiveActive() && holds.protectiveUntil() == expired.until()) {
      getContext().getLog().info("[campaign={} dpu={}] {} ended (its duration passed)", logCampaign(), settings.dpuId(),
          holds.protectiveDescription());
      changeHolds(holds.withoutProtective());
    }
    return this;
  }

  private Behavior<Command> onDeferralExpired(DeferralExpired expired) {
    if (holds.deferUntil() == expired.until()) {
      getContext().getLog().info("[campaign={} dpu={}] deferral of host reboots ended", logCampaign(), settings.dpuId());
      changeHolds(holds.withoutDeferral());
    }
    return this;
  }

  /** Every hold change is a new state version (held long polls answer); a cleared protective state resumes a held shutdown. */
  private void changeHolds(Holds next) {
    holds = next;
    version++;
    timers.cancel("protective-expiry");
    timers.cancel("deferral-expiry");
    long now = clock.millis();
    if (holds.protectiveUntil() > 0) {
      timers.startSingleTimer("protective-expiry", new ProtectiveExpired(holds.protectiveUntil()),
          Duration.ofMillis(Math.max(0, holds.protectiveUntil() - now)));
    }
    if (holds.deferUntil() > 0) {
      timers.startSingleTimer("deferral-expiry", new DeferralExpired(holds.deferUntil()), Duration.ofMillis(Math.max(0, holds.deferUntil() - now)));
    }
    if (heldAt >= 0 && !holds.protectiveActive() && state.shuttingDown()) {
      getContext().getLog().info("[campaign={} dpu={}] protective state cleared; the shutdown resumes", campaignId, settings.dpuId());
      startStep(heldAt);
    }
  }

  /** The campaign a hold line is about: the one running now, else none (not the last one, long over). */
  private String logCampaign() {
    boolean running = state.shuttingDown() || pending != null || restarting();
    return running && !campaignId.isEmpty() ? campaignId : "none";
  }

  private boolean restarting() {
    return state.shutDown() && method != null && method.restarts() && restartFailure.isEmpty();
  }

  private Behavior<Command> onGetState(GetState get) {
    if (get.maxWait().isZero() || get.maxWait().isNegative() || get.knownVersion() != version) {
      get.replyTo().tell(snapshot());
    } else {
      long id = nextWaiterId++;
      waiters.put(id, get.replyTo());
      timers.startSingleTimer(new WaitExpired(id), new WaitExpired(id), get.maxWait());
    }
    return this;
  }

  private Behavior<Command> onWaitExpired(WaitExpired expired) {
    ActorRef<AgentSnapshot> waiter = waiters.remove(expired.waiterId());
    if (waiter != null) {
      waiter.tell(snapshot());
    }
    return this;
  }

  private void moveTo(AgentState next) {
    state = next;
    version++;
    since = clock.millis();
  }

  private void join(String requested) {
    if (!requested.isEmpty() && !joinedCampaigns.contains(requested)) {
      joinedCampaigns.add(requested);
    }
  }

  private void remember(String id) {
    if (id.isEmpty() || boot.completed.contains(id)) {
      return;
    }
    boot.completed.addLast(id);
    while (boot.completed.size() > settings.rememberedCampaigns()) {
      boot.completed.removeFirst();
    }
  }

  private Behavior<Command> reply(Signal signal, Disposition disposition, String id, String text) {
    return reply(signal, disposition, id, text, 0, "");
  }

  private Behavior<Command> reply(Signal signal, Disposition disposition, String id, String text, long deferUntil, String detail) {
    String ack = "ACK " + disposition + ": " + text + " (dpu " + settings.dpuId() + ", campaign " + id + ", state " + state + ")";
    signal.replyTo().tell(new SignalOutcome(disposition, id, state, version, ack, deferUntil, detail,
        holds.protectiveActive() ? holds.protectiveDescription() : ""));
    return this;
  }

  private AgentSnapshot snapshot() {
    AgentSnapshot.Reboot reboot = new AgentSnapshot.Reboot(
        pending != null ? pending.method() : method, pending != null ? pending.reason() : reason,
        startedAt, pending != null ? pendingAt : 0, state.shuttingDown() || pending != null || restarting(), finished,
        restartFailure);
    return new AgentSnapshot(settings.dpuId(), state, version, campaignId, List.copyOf(boot.completed), degraded,
        List.copyOf(results), boot.shutdownRuns, boot.id, since, reboot, holds);
  }

  private static String newBootId() {
    return UUID.randomUUID().toString();
  }
}
