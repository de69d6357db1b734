package io.github.dpucoordinator.npu;

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
  }

  /** {@code method}: the gNOI Reboot method for this request (HALT, COLD, WARM), or "" for the configured one. */
  record SignalRequest(String campaignId, String kind, String reason, long deadlineMillis, String method) {
    public SignalRequest(String campaignId, String kind, String reason, long deadlineMillis) {
      this(campaignId, kind, reason, deadlineMillis, "");
    }
  }

  /** The DPU's answer to a reboot signal; {@code version} is the state version to long-poll from (-1: unknown). */
  record SignalReply(String disposition, String campaignId, String state, long version, String ack) {}

  /**
   * What the DPU reports about itself. {@code failure} is non-empty when the DPU says the shutdown
   * failed; {@code retriable} when it says it failed but may succeed if asked again.
   */
  record Observation(String state, long version, List<String> completedCampaigns, boolean degraded, String detail, String bootId,
      String failure, boolean retriable) {
    public Observation(String state, long version, List<String> completedCampaigns, boolean degraded, String detail, String bootId) {
      this(state, version, completedCampaigns, degraded, detail, bootId, "", false);
    }

    public boolean completed(String campaignId) {
      return completedCampaigns.contains(campaignId);
    }

    public boolean listening() {
      return "LISTENING".equals(state);
    }
  }

  CompletionStage<SignalReply> signal(DpuEndpoint dpu, SignalRequest request, Duration timeout);

  /**
   * The DPU's state as far as {@code campaignId} is concerned; held up to {@code wait} while its
   * version still equals {@code knownVersion} (protocols without a long poll wait their poll interval).
   */
  CompletionStage<Observation> observe(DpuEndpoint dpu, String campaignId, long knownVersion, Duration wait, Duration timeout);

  /** Releases connections. */
  void close();
}
