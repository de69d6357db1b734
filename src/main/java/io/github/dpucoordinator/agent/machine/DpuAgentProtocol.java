package io.github.dpucoordinator.agent.machine;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The agent's commands and replies: what its gRPC services, its negotiator and the simulation send it.
 * {@link DpuAgent} implements this, so each is also named {@code DpuAgent.X}.
 */
public interface DpuAgentProtocol {

  /** What was asked for: the seed's reboot signal, or a gNOI reboot method. */
  public enum Method {
    SIGNAL, HALT, COLD, WARM;

    boolean restarts() {
      return this == COLD || this == WARM;
    }
  }

  /** What the agent accepts. */
  interface Command {}

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

    /** For the log: "reboot signal", "gNOI Reboot COLD" or "COLD reboot". */
    String describe() {
      return method == Method.SIGNAL ? "reboot signal" : fromGnoi() ? "gNOI Reboot " + method : method + " reboot";
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
      long deferUntilMillis, String detail, String protective, String protectiveReason) {}

  /**
   * The restart the NPU reboot causes, for simulations: whatever the agent was doing, it comes back
   * in Listening with a new boot id (a shutdown in progress is cut off, as a power cycle would).
   */
  public enum SimulatedPowerCycle implements Command { INSTANCE }
}
