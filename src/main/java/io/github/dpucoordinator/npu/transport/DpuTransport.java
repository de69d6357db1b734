package io.github.dpucoordinator.npu.transport;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * How the NPU talks to a DPU, independent of the wire protocol. Calls never throw: failures come
 * back as failed stages whose message says what went wrong; a {@link Permanent} failure says that
 * asking again cannot help.
 */
public interface DpuTransport {

  /** The DPU refused in a way a retry cannot change (unsupported method, unimplemented service). */
  final class Permanent extends RuntimeException {
    public Permanent(String message) {
      super(message);
    }

    /** {@code failure} is, or was caused by, a permanent one. */
    public static boolean in(Throwable failure) {
      for (Throwable t = failure; t != null; t = t.getCause()) {
        if (t instanceof Permanent) {
          return true;
        }
      }
      return false;
    }
  }

  /**
   * {@code method}: the gNOI Reboot method for this request (HALT, COLD, WARM), or "" for the configured one;
   * {@code force}: the DPU must not defer (`reboot --force`, or the deferral cap was reached).
   */
  record SignalRequest(String campaignId, String kind, String reason, long deadlineMillis, String method, boolean force) {
    public SignalRequest(String campaignId, String kind, String reason, long deadlineMillis) {
      this(campaignId, kind, reason, deadlineMillis, "", false);
    }

    public SignalRequest(String campaignId, String kind, String reason, long deadlineMillis, String method) {
      this(campaignId, kind, reason, deadlineMillis, method, false);
    }

    public SignalRequest forced() {
      return new SignalRequest(campaignId, kind, reason, deadlineMillis, method, true);
    }
  }

  /**
   * What a DPU did with a reboot signal, whatever its protocol said it with: started a shutdown, had one in progress
   * or complete already, asks the NPU to wait ({@code DEFERRED}), or took nothing because a protective state holds.
   */
  enum Disposition { STARTED, IN_PROGRESS, ALREADY_COMPLETE, DEFERRED, PROTECTIVE }

  /**
   * The DPU's state as the NPU reads it: the seed's state machine, {@code FAILED} (a gNOI DPU reported that its reboot
   * failed) and {@code UNKNOWN} (a state this build does not know, or none given).
   */
  enum State {
    LISTENING, SHUTDOWN_INITIATED, SHUTDOWN, SHUTDOWN_COMPLETE, WAIT_FOR_RESTART, FAILED, UNKNOWN;

    /** The state of that name; {@code UNKNOWN} for any other. */
    public static State named(String name) {
      for (State s : values()) {
        if (s.name().equals(name)) {
          return s;
        }
      }
      return UNKNOWN;
    }
  }

  /** How a protective state reads, whichever way it arrived: {@code firmware-update: bios 2.1}. */
  static String protective(String name, String reason) {
    return name.isEmpty() ? "" : name + (reason.isEmpty() ? "" : ": " + reason);
  }

  /**
   * The DPU's answer to a reboot signal; {@code version} is the state version to long-poll from (-1: unknown).
   * With {@link Disposition#DEFERRED}: until when, and why; with {@link Disposition#PROTECTIVE}: {@code ack} names the state.
   * {@code countBefore}: for a protocol without campaign ids (gNOI), the DPU's reboot count read just before the
   * signal (-1: none), the evidence of completion that is journaled with the acknowledgment.
   */
  record SignalReply(Disposition disposition, String campaignId, State state, long version, String ack, long deferUntil,
      String deferReason, long countBefore) {
    public SignalReply(Disposition disposition, String campaignId, State state, long version, String ack) {
      this(disposition, campaignId, state, version, ack, 0, "", -1);
    }

    public SignalReply(Disposition disposition, String campaignId, State state, long version, String ack, long deferUntil,
        String deferReason) {
      this(disposition, campaignId, state, version, ack, deferUntil, deferReason, -1);
    }
  }

  /**
   * What the DPU reports about itself. {@code failure} is non-empty when the DPU says the shutdown
   * failed; {@code retriable} when it says it failed but may succeed if asked again.
   */
  record Observation(State state, long version, List<String> completedCampaigns, boolean degraded, String detail, String bootId,
      String failure, boolean retriable, String protective, String deferring) {
    public Observation(State state, long version, List<String> completedCampaigns, boolean degraded, String detail, String bootId) {
      this(state, version, completedCampaigns, degraded, detail, bootId, "", false, "", "");
    }

    public Observation(State state, long version, List<String> completedCampaigns, boolean degraded, String detail, String bootId,
        String failure, boolean retriable) {
      this(state, version, completedCampaigns, degraded, detail, bootId, failure, retriable, "", "");
    }

    /** The DPU reports a protective state (firmware update, crash dump): never power it off or reset it now. */
    public boolean isProtective() {
      return !protective.isEmpty();
    }

    public boolean completed(String campaignId) {
      return completedCampaigns.contains(campaignId);
    }

    public boolean listening() {
      return state == State.LISTENING;
    }
  }

  CompletionStage<SignalReply> signal(DpuEndpoint dpu, SignalRequest request, Duration timeout);

  /** The same with no {@link Evidence}: a question about the DPU's state, not about a completion. */
  default CompletionStage<Observation> observe(DpuEndpoint dpu, String campaignId, long knownVersion, Duration wait, Duration timeout) {
    return observe(dpu, campaignId, Evidence.NONE, knownVersion, wait, timeout);
  }

  /**
   * What the caller knows that tells a completion apart on a protocol without campaign ids (gNOI), kept by the
   * caller (the transport keeps nothing per DPU): {@code countBefore}, the reboot count read just before the signal
   * ({@link SignalReply#countBefore()}, journaled with the acknowledgment; -1: none), and whether the DPU has been
   * seen busy with the reboot since the signal.
   */
  record Evidence(long countBefore, boolean seenActive, String bootBefore) {
    public static final Evidence NONE = new Evidence(-1, false, "");

    public Evidence(long countBefore, boolean seenActive) {
      this(countBefore, seenActive, "");
    }

    public Evidence seen() {
      return seenActive ? this : new Evidence(countBefore, true, bootBefore);
    }

    /** What a journaled {@link Baseline} tells: its count, and its boot id (a DPU that restarted has done its reboot). */
    public Evidence with(Baseline b) {
      return b == null ? this : new Evidence(countBefore >= 0 ? countBefore : b.count(), seenActive, b.bootId());
    }
  }

  /**
   * A DPU's record of its reboots, read before a signal on a protocol without campaign ids (gNOI): the reboot
   * {@code count}, the start of the latest reboot ({@code whenNanos}, 0 none), the DPU's boot id ("" when it does not
   * say) and whether a reboot is running now. Journaled before the signal is sent, so that after a restart of the NPU
   * service a reboot that signal started is recognised ({@link #movedSince}) instead of being asked for again.
   */
  record Baseline(long count, long whenNanos, String bootId, boolean active) {
    /** Nothing recorded (a protocol whose DPUs deduplicate by campaign id). */
    public static final Baseline NONE = new Baseline(-1, 0, "", false);

    /** A reboot started after {@code earlier} was read: one is running, the count or its start moved, or the DPU booted again. */
    public boolean movedSince(Baseline earlier) {
      return active || count > earlier.count || whenNanos > earlier.whenNanos
          || (!bootId.isEmpty() && !earlier.bootId.isEmpty() && !bootId.equals(earlier.bootId));
    }
  }

  /**
   * Whether {@link #observe}'s {@code wait} holds a call open until the DPU's state changes (a long poll); if not (gNOI),
   * it is a pause before asking, and the caller plans the pauses.
   */
  default boolean longPolls(DpuEndpoint dpu) {
    return true;
  }

  /** The DPU has no campaign ids: its {@link Baseline} must be journaled before a signal is sent (gNOI). */
  default boolean needsBaseline(DpuEndpoint dpu) {
    return false;
  }

  /** Reads the DPU's {@link Baseline}, within {@code timeout}; a protocol with campaign ids has none to read ({@link Baseline#NONE}). */
  default CompletionStage<Baseline> baseline(DpuEndpoint dpu, Duration timeout) {
    return java.util.concurrent.CompletableFuture.completedFuture(Baseline.NONE);
  }

  /**
   * The DPU's state as far as {@code campaignId} is concerned; held up to {@code wait} while its version still equals
   * {@code knownVersion} (protocols without a long poll wait their poll interval). {@code evidence} is the caller's,
   * for protocols without campaign ids; protocols that report completed campaigns by id ignore it.
   */
  CompletionStage<Observation> observe(DpuEndpoint dpu, String campaignId, Evidence evidence, long knownVersion, Duration wait,
      Duration timeout);

  /** Releases connections. */
  void close();

  /** How DPUs are reached (for status); plaintext unless the transport says otherwise. */
  default DpuTls tls() {
    return DpuTls.plaintext();
  }
}
