package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.npu.transport.DpuTransport.Baseline;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalReply;

/** What a {@link DpuLink} tells the coordinator about its DPU. */
public sealed interface LinkReport {

  /**
   * The DPU's reboot record before the first signal (a protocol without campaign ids): the owner journals it, then
   * says so ({@link DpuActor.BaselineJournaled}); only then is the signal sent.
   */
  public record Baselined(Baseline baseline) implements LinkReport {}

  public record Acknowledged(int attempt, SignalReply reply) implements LinkReport {}

  public record AttemptFailed(int attempt, String reason) implements LinkReport {}

  public record GaveUp(String reason) implements LinkReport {}

  /** {@code haltMillis}: how long the shutdown took from its acknowledgment, as the link estimated it (-1: not known). */
  public record Completed(boolean degraded, String detail, long haltMillis) implements LinkReport {
    public Completed(boolean degraded, String detail) {
      this(degraded, detail, -1);
    }
  }

  public record Ready() implements LinkReport {}

  /** The DPU answered DEFER; the link asks again at {@code honouredUntil} (its wish within the campaign's cap). */
  public record Deferred(String reason, long requestedUntil, long honouredUntil) implements LinkReport {}

  /** The DPU's protective state changed ({@code state} empty: none any more). */
  public record ProtectiveChanged(String state) implements LinkReport {}

  /** The DPU's latest reported state or the latest error reaching it; informational, not journaled. */
  public record Seen(String summary) implements LinkReport {}
}
