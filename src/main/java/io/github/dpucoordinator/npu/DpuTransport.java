package io.github.dpucoordinator.npu;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * How the NPU talks to a DPU, independent of the wire protocol. Calls never throw: failures come
 * back as failed stages whose message says what went wrong.
 */
public interface DpuTransport {

  record SignalRequest(String campaignId, String kind, String reason, long deadlineMillis) {}

  /** The DPU's answer to a reboot signal; {@code version} is the state version to long-poll from (-1: unknown). */
  record SignalReply(String disposition, String campaignId, String state, long version, String ack) {}

  /** What the DPU reports about itself. */
  record Observation(String state, long version, List<String> completedCampaigns, boolean degraded, String detail, String bootId) {
    public boolean completed(String campaignId) {
      return completedCampaigns.contains(campaignId);
    }

    public boolean listening() {
      return "LISTENING".equals(state);
    }
  }

  CompletionStage<SignalReply> signal(DpuEndpoint dpu, SignalRequest request, Duration timeout);

  /** The DPU's state; held up to {@code wait} while its version still equals {@code knownVersion}. */
  CompletionStage<Observation> observe(DpuEndpoint dpu, long knownVersion, Duration wait, Duration timeout);

  /** Releases connections. */
  void close();
}
