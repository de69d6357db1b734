package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.npu.transport.DpuTransport.Baseline;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest;

/**
 * Where a link starts: the campaign, and what the journal already knows of this DPU ({@code countBefore}: the
 * evidence of completion journaled with its acknowledgment, -1 none; {@code baseline}: the DPU's reboot record
 * journaled before the first signal on a protocol without campaign ids, null none).
 */
public record LinkStart(String campaignId, Mode mode, SignalRequest request, boolean acknowledged, int attemptsSoFar, long deferCapAt,
    long countBefore, Baseline baseline) {

  /** {@code SHUTDOWN}: signal, then follow the DPU's state; {@code READY}: only wait for it to be Listening again. */
  public enum Mode { SHUTDOWN, READY }

  public LinkStart(String campaignId, Mode mode, SignalRequest request, boolean acknowledged, int attemptsSoFar) {
    this(campaignId, mode, request, acknowledged, attemptsSoFar, 0, -1, null);
  }

  public LinkStart(String campaignId, Mode mode, SignalRequest request, boolean acknowledged, int attemptsSoFar, long deferCapAt,
      long countBefore) {
    this(campaignId, mode, request, acknowledged, attemptsSoFar, deferCapAt, countBefore, null);
  }
}
