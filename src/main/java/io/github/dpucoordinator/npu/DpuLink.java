package io.github.dpucoordinator.npu;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.npu.DpuTransport.Observation;
import io.github.dpucoordinator.npu.DpuTransport.SignalReply;
import io.github.dpucoordinator.npu.DpuTransport.SignalRequest;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One DPU as seen from the NPU for the rest of a campaign. In {@link Mode#SHUTDOWN} it delivers the
 * reboot signal (per-attempt deadline, exponential backoff with jitter, a bounded number of
 * attempts) and reports when the DPU says this campaign's shutdown is complete. Either way it keeps
 * following the DPU's state with long polls until the campaign ends, so that after the reboot it
 * can tell at once whether the DPU is Listening ({@link AwaitReady}): an open long poll that has not
 * returned means the state it last reported still holds. {@link Mode#READY} starts there (after a
 * restart of the NPU service, when nothing is known yet).
 *
 * <p>It keeps nothing durable: everything worth keeping goes to the coordinator as a {@link Report},
 * and a restarted link starts again from what the coordinator journaled ({@code acknowledged},
 * {@code attemptsSoFar}). Redelivering a signal is safe because the DPU deduplicates by campaign id.
 */
public final class DpuLink extends AbstractBehavior<DpuLink.Command> {

  public enum Mode { SHUTDOWN, READY }

  /**
   * Where a link starts: the campaign, and what the journal already knows of this DPU ({@code countBefore}: the
   * evidence of completion journaled with its acknowledgment, -1 none).
   */
  public record Start(String campaignId, Mode mode, SignalRequest request, boolean acknowledged, int attemptsSoFar, long deferCapAt,
      long countBefore) {
    public Start(String campaignId, Mode mode, SignalRequest request, boolean acknowledged, int attemptsSoFar) {
      this(campaignId, mode, request, acknowledged, attemptsSoFar, 0, -1);
    }
  }

  /** What a link tells the coordinator. */
  public sealed interface Report {}

  public record Acknowledged(int attempt, SignalReply reply) implements Report {}

  public record AttemptFailed(int attempt, String reason) implements Report {}

  public record GaveUp(String reason) implements Report {}

  public record Completed(boolean degraded, String detail) implements Report {}

  public record Ready() implements Report {}

  /** The DPU answered DEFER; the link asks again at {@code honouredUntil} (its wish within the campaign's cap). */
  public record Deferred(String reason, long requestedUntil, long honouredUntil) implements Report {}

  /** The DPU's protective state changed ({@code state} empty: none any more). */
  public record ProtectiveChanged(String state) implements Report {}

  /** The DPU's latest reported state or the latest error reaching it; informational, not journaled. */
  public record Seen(String summary) implements Report {}

  public sealed interface Command {}

  /** The deadline has passed: no more signal attempts (a late signal must not shut a DPU down now). */
  public enum StopSignalling implements Command { INSTANCE }

  /** The reboot is over: report {@link Ready} as soon as the DPU is known to be Listening, then stop. */
  public enum AwaitReady implements Command { INSTANCE }

  private record SignalAnswered(int attempt, SignalReply reply, Throwable failure) implements Command {}

  private record Observed(Observation observation, Throwable failure) implements Command {}

  private record SendSignal(int attempt) implements Command {}

  private enum Poll implements Command { INSTANCE }

  private enum HaltTimeout implements Command { INSTANCE }

  /** A link that fails this many times within {@link #RESTART_WINDOW} gives up on its DPU: a fault here must not loop forever. */
  static final int MAX_RESTARTS = 5;
  static final Duration RESTART_WINDOW = Duration.ofMinutes(1);

  /**
   * What a link has learned that outlives a restart of its actor, so that a restarted link goes on with the same
   * attempt budget instead of starting it over: attempts used, the acknowledgment and its evidence, whether it was told
   * to stop signalling or to report readiness, whether it has reported its outcome, and when it was restarted.
   */
  private static final class Memory {
    int attempts;
    boolean acknowledged;
    DpuTransport.Evidence evidence;
    boolean signallingStopped;
    boolean readyWanted;
    boolean resolved;
    boolean started;
    final java.util.Deque<Long> restarts = new java.util.ArrayDeque<>();
    /** When the halt timeout runs out (0: not armed yet), so a restarted link does not grant it afresh. */
    long haltDeadline;

    Memory(Start start) {
      attempts = start.attemptsSoFar();
      acknowledged = start.acknowledged();
      evidence = new DpuTransport.Evidence(start.countBefore(), false);
    }
  }

  /** The link, supervised: restarted with backoff (200 ms doubling to 5 s, as the coordinator), at most {@value #MAX_RESTARTS} times. */
  public static Behavior<Command> create(DpuEndpoint dpu, Start start, DpuTransport transport, NpuSettings settings,
      ActorRef<Coordinator.Command> coordinator, Random random, java.time.Clock clock) {
    Memory memory = new Memory(start);
    Behavior<Command> link = Behaviors.setup(ctx -> {
      long now = clock.millis();
      if (memory.started) {
        memory.restarts.addLast(now);
        while (memory.restarts.peekFirst() < now - RESTART_WINDOW.toMillis()) {
          memory.restarts.removeFirst();
        }
      }
      memory.started = true;
      if (memory.restarts.size() > MAX_RESTARTS) {
        ctx.getLog().error("[campaign={} dpu={}] the link to this DPU failed {} times within {} s; giving up on it", start.campaignId(),
            dpu.id(), memory.restarts.size(), RESTART_WINDOW.toSeconds());
        coordinator.tell(new Coordinator.FromLink(start.campaignId(), dpu.id(), new GaveUp("the NPU service's link to this DPU failed "
            + memory.restarts.size() + " times within " + RESTART_WINDOW.toSeconds() + " s (a fault in this service; its log has each failure)")));
        return Behaviors.stopped();
      }
      return Behaviors.withTimers(timers -> new DpuLink(ctx, timers, dpu, start, transport, settings, coordinator, random, clock, memory));
    });
    return Behaviors.supervise(link).onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
  }

  private final TimerScheduler<Command> timers;
  private final DpuEndpoint dpu;
  private final Start start;
  private final DpuTransport transport;
  private final NpuSettings settings;
  private final ActorRef<Coordinator.Command> coordinator;
  private final Random random;
  private final java.time.Clock clock;
  private long knownVersion = -1;
  private String lastSeen = "";
  private boolean signalling;
  private boolean readyWanted;
  /** A state query is on the wire or scheduled: the watch loop is running. */
  private boolean watching;
  private final Memory memory;
  private boolean resolved;
  /** The DPU's latest state while a long poll on it is open; null after a failed poll. */
  private Observation current;
  /** The protective state last reported to the coordinator. */
  private String protective = "";
  /** The halt timeout was stopped for a protective state; it starts afresh when the state ends. */
  private boolean haltHeld;
  /** The signal to send: the campaign's, then forced once the deferral cap is reached. */
  private SignalRequest request;
  /** What tells this DPU's completion apart on gNOI: from the acknowledgment (journaled, or this link's own) and the polls since. */
  private DpuTransport.Evidence evidence;

  private DpuLink(ActorContext<Command> ctx, TimerScheduler<Command> timers, DpuEndpoint dpu, Start start,
      DpuTransport transport, NpuSettings settings, ActorRef<Coordinator.Command> coordinator, Random random, java.time.Clock clock,
      Memory memory) {
    super(ctx);
    this.memory = memory;
    this.clock = clock;
    this.timers = timers;
    this.dpu = dpu;
    this.start = start;
    this.transport = transport;
    this.settings = settings;
    this.coordinator = coordinator;
    this.random = random;
    readyWanted = start.mode() == Mode.READY || memory.readyWanted;
    resolved = memory.resolved;
    request = start.request();
    evidence = memory.evidence;
    boolean mayAsk = start.mode() == Mode.SHUTDOWN && !memory.acknowledged && !memory.signallingStopped && !resolved;
    if (mayAsk && memory.attempts >= settings.signal().maxAttempts()) {
      // restarted with every attempt used (the last one's answer was lost with the failed actor)
      giveUp("no acknowledgment after " + memory.attempts + " attempt(s) (the link restarted after a failure)");
    } else if (mayAsk) {
      signalling = true;
      sendSignal(memory.attempts + 1);
    } else {
      if (start.mode() == Mode.SHUTDOWN && !resolved && !memory.signallingStopped) {
        armHaltTimeout(false);
      }
      poll();
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(SendSignal.class, s -> {
          if (signalling) {
            sendSignal(s.attempt());
          }
          return this;
        })
        .onMessageEquals(StopSignalling.INSTANCE, () -> {
          stopSignalling();
          return this;
        })
        .onMessageEquals(AwaitReady.INSTANCE, this::onAwaitReady)
        .onMessage(SignalAnswered.class, this::onSignalAnswered)
        .onMessageEquals(Poll.INSTANCE, () -> {
          poll();
          return this;
        })
        .onMessage(Observed.class, this::onObserved)
        .onMessageEquals(HaltTimeout.INSTANCE, this::onHaltTimeout)
        .build();
  }

  private void sendSignal(int attempt) {
    memory.attempts = attempt;
    getContext().getLog().info("[campaign={} dpu={}] sending reboot signal, attempt {}/{}", start.campaignId(), dpu.id(),
        attempt, settings.signal().maxAttempts());
    // No cap (a module transition: an operator's explicit request) or the cap reached: the DPU may not defer.
    if (!request.force() && clock.millis() >= start.deferCapAt()) {
      if (start.deferCapAt() > 0) {
        getContext().getLog().warn("[campaign={} dpu={}] deferral cap reached; signalling with force", start.campaignId(), dpu.id());
      }
      request = request.forced();
    }
    SignalRequest sent = request;
    getContext().pipeToSelf(transport.signal(dpu, sent, settings.signal().rpcTimeout()),
        (reply, failure) -> new SignalAnswered(attempt, reply, failure));
  }

  private Behavior<Command> onSignalAnswered(SignalAnswered answer) {
    int attempt = answer.attempt();
    if (!signalling) {
      return this; // the deadline passed while this attempt was on the wire
    }
    if (answer.failure() == null && DpuTransport.DEFERRED.equals(answer.reply().disposition())) {
      return onDeferred(attempt, answer.reply());
    }
    if (answer.failure() == null && DpuTransport.PROTECTIVE.equals(answer.reply().disposition())) {
      // Nothing started: the DPU must not be halted now. Ask again later; this is not a failed attempt.
      protective(answer.reply().ack());
      timers.startSingleTimer(new SendSignal(attempt), settings.negotiation().protectiveRecheck());
      return this;
    }
    if (answer.failure() == null) {
      signalling = false;
      protective(""); // a DPU in a protective state refuses; one that accepts is in none
      getContext().getLog().info("[campaign={} dpu={}] acknowledged on attempt {}: {}", start.campaignId(), dpu.id(), attempt,
          answer.reply().ack());
      // the earliest count known: a later attempt may read one a lost earlier attempt has already raised
      long before = memory.evidence.countBefore() >= 0 ? memory.evidence.countBefore() : answer.reply().countBefore();
      evidence = new DpuTransport.Evidence(before, false);
      memory.acknowledged = true;
      memory.evidence = evidence;
      report(new Acknowledged(attempt, answer.reply()));
      armHaltTimeout(false);
      // A reply in a state that is still changing is followed by a long poll from its version. In any other state
      // (a warm signal with no cleanup steps is already over, a halted DPU) waiting for a change would wait out
      // the whole state-wait: ask at once.
      String replied = answer.reply().state();
      knownVersion = replied.equals("SHUTDOWN") || replied.equals("SHUTDOWN_INITIATED") ? answer.reply().version() : -1;
      if (!watching) {
        poll();
      }
      return this;
    }
    String reason = Failures.describe(answer.failure());
    boolean permanent = isPermanent(answer.failure());
    if (attempt >= settings.signal().maxAttempts() || permanent) {
      getContext().getLog().error("[campaign={} dpu={}] giving up after {} attempt(s); last error: {}", start.campaignId(),
          dpu.id(), attempt, reason);
      report(new AttemptFailed(attempt, reason));
      giveUp((permanent ? "refused: " : "no acknowledgment after " + attempt + " attempt(s): ") + reason);
      return this;
    }
    Duration pause = settings.signal().backoff(attempt, random.nextDouble());
    getContext().getLog().warn("[campaign={} dpu={}] attempt {} failed ({}); retrying in {} ms", start.campaignId(), dpu.id(),
        attempt, reason, pause.toMillis());
    // Armed before reporting: once the failure is journaled, the retry is already scheduled.
    timers.startSingleTimer(new SendSignal(attempt + 1), pause);
    report(new AttemptFailed(attempt, reason));
    return this;
  }

  /** DEFER: honoured until the DPU's time or the campaign's cap, whichever is first; then asked again. */
  private Behavior<Command> onDeferred(int attempt, SignalReply reply) {
    long now = clock.millis();
    long cap = start.deferCapAt() > 0 ? start.deferCapAt() : now;
    long until = Math.min(Math.max(reply.deferUntil(), now), cap);
    getContext().getLog().info("[campaign={} dpu={}] deferred until {} ({}); asking again at {}{}", start.campaignId(), dpu.id(),
        java.time.Instant.ofEpochMilli(reply.deferUntil()), reply.deferReason(), java.time.Instant.ofEpochMilli(until),
        until < reply.deferUntil() ? " (the campaign's deferral cap)" : "");
    report(new Deferred(reply.deferReason(), reply.deferUntil(), until));
    timers.startSingleTimer(new SendSignal(attempt), Duration.ofMillis(Math.max(0, until - now)));
    return this;
  }

  private void protective(String state) {
    if (!state.equals(protective)) {
      protective = state;
      if (state.isEmpty()) {
        getContext().getLog().info("[campaign={} dpu={}] protective state ended", start.campaignId(), dpu.id());
      } else {
        getContext().getLog().warn("[campaign={} dpu={}] in a protective state: {}; it will not be powered off or reset while it lasts",
            start.campaignId(), dpu.id(), state);
      }
      report(new ProtectiveChanged(state));
    }
  }

  private void poll() {
    watching = true;
    Duration wait = knownVersion < 0 ? Duration.ZERO : settings.stateWait();
    getContext().pipeToSelf(transport.observe(dpu, start.campaignId(), evidence, knownVersion, wait,
        wait.plus(settings.signal().rpcTimeout())), Observed::new);
  }

  private Behavior<Command> onObserved(Observed observed) {
    if (observed.failure() != null) {
      seen("unreachable: " + Failures.describe(observed.failure()));
      current = null;
      knownVersion = -1;
      timers.startSingleTimer(Poll.INSTANCE, settings.watchRetry());
      return this;
    }
    Observation o = observed.observation();
    current = o;
    if (!signalling && o.state().equals("SHUTDOWN")) {
      evidence = evidence.seen(); // busy with the reboot since it was accepted
      memory.evidence = evidence;
    }
    knownVersion = o.version();
    seen(o.state());
    if (start.mode() == Mode.SHUTDOWN && !resolved) {
      protective(o.protective());
      // A protective state set during the shutdown holds it: the halt timeout waits too (the campaign caps it).
      if (o.isProtective() && timers.isTimerActive(HaltTimeout.INSTANCE)) {
        timers.cancel(HaltTimeout.INSTANCE);
        haltHeld = true;
      } else if (!o.isProtective() && haltHeld) {
        haltHeld = false;
        armHaltTimeout(true);
      }
    }
    if (start.mode() == Mode.SHUTDOWN && !resolved && !o.failure().isEmpty() && !signalling) {
      return onReportedFailure(o);
    }
    if (start.mode() == Mode.SHUTDOWN && !resolved && o.completed(start.campaignId())) {
      resolved = true;
      memory.resolved = true;
      timers.cancel(HaltTimeout.INSTANCE);
      getContext().getLog().info("[campaign={} dpu={}] shutdown complete{}", start.campaignId(), dpu.id(),
          o.degraded() ? " (degraded: " + o.detail() + ")" : "");
      report(new Completed(o.degraded(), o.detail()));
    }
    if (readyWanted && o.listening()) {
      return ready();
    }
    poll();
    return this;
  }

  /** The DPU says its shutdown failed: ask again if it may help and attempts remain, else record it. */
  private Behavior<Command> onReportedFailure(Observation o) {
    if (o.retriable() && memory.attempts < settings.signal().maxAttempts()) {
      getContext().getLog().warn("[campaign={} dpu={}] {}; asking again", start.campaignId(), dpu.id(), o.failure());
      report(new AttemptFailed(memory.attempts, o.failure()));
      signalling = true;
      watching = false;
      memory.acknowledged = false;
      memory.haltDeadline = 0; // the next acknowledgment gets the whole halt timeout, as the first one did
      sendSignal(memory.attempts + 1);
      return this;
    }
    getContext().getLog().error("[campaign={} dpu={}] {}", start.campaignId(), dpu.id(), o.failure());
    giveUp(o.failure());
    poll();
    return this;
  }

  /** The halt timeout: what is left of it after a restart of this link, or all of it when {@code afresh}. */
  private void armHaltTimeout(boolean afresh) {
    long now = clock.millis();
    if (afresh || memory.haltDeadline == 0) {
      memory.haltDeadline = now + settings.haltTimeout().toMillis();
    }
    timers.startSingleTimer(HaltTimeout.INSTANCE, Duration.ofMillis(Math.max(0, memory.haltDeadline - now)));
  }

  private Behavior<Command> onHaltTimeout() {
    if (!resolved && start.mode() == Mode.SHUTDOWN) {
      String last = current != null ? current.state() : lastSeen;
      getContext().getLog().error("[campaign={} dpu={}] shutdown not complete within the halt timeout ({} ms); last seen: {}",
          start.campaignId(), dpu.id(), settings.haltTimeout().toMillis(), last);
      giveUp("shutdown not complete within the halt timeout (" + settings.haltTimeout().toMillis() + " ms); last seen: " + last);
    }
    return this;
  }

  /** Records that this DPU will not shut down gracefully, and keeps watching it: it may come back. */
  private void giveUp(String reason) {
    resolved = true;
    memory.resolved = true;
    signalling = false;
    timers.cancel(HaltTimeout.INSTANCE);
    report(new GaveUp(reason));
    if (!watching) {
      watching = true;
      timers.startSingleTimer(Poll.INSTANCE, settings.watchRetry());
    }
  }

  private static boolean isPermanent(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof DpuTransport.Permanent) {
        return true;
      }
    }
    return false;
  }

  /** No more attempts; watch the DPU from now on, even while an attempt is still on the wire. */
  private void stopSignalling() {
    signalling = false;
    memory.signallingStopped = true;
    if (!watching) {
      poll();
    }
  }

  private Behavior<Command> onAwaitReady() {
    stopSignalling();
    readyWanted = true;
    memory.readyWanted = true;
    return current != null && current.listening() ? ready() : this;
  }

  private Behavior<Command> ready() {
    getContext().getLog().info("[campaign={} dpu={}] ready (Listening) after reboot", start.campaignId(), dpu.id());
    report(new Ready());
    return Behaviors.stopped();
  }

  private void seen(String summary) {
    if (!summary.equals(lastSeen)) {
      lastSeen = summary;
      report(new Seen(summary));
    }
  }

  private void report(Report report) {
    coordinator.tell(new Coordinator.FromLink(start.campaignId(), dpu.id(), report));
  }
}
