package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.npu.transport.DpuTransport.Baseline;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest;

/**
 * Where a link starts: the campaign, and what the journal already knows of this DPU ({@code countBefore}: the
 * evidence of completion journaled with its acknowledgment, -1 none; {@code baseline}: the DPU's reboot record
 * journaled before the first signal on a protocol without campaign ids, null none; {@code recentHalts}: its recent
 * halt durations in ms, which gNOI's polling plans from).
 */
public record LinkStart(String campaignId, Mode mode, SignalRequest request, boolean acknowledged, int attemptsSoFar, long deferCapAt,
    long countBefore, Baseline baseline, java.util.List<Long> recentHalts) {

  /** {@code SHUTDOWN}: signal, then follow the DPU's state; {@code READY}: only wait for it to be Listening again. */
  public enum Mode { SHUTDOWN, READY }

  public LinkStart(String campaignId, Mode mode, SignalRequest request, boolean acknowledged, int attemptsSoFar) {
    this(campaignId, mode, request, acknowledged, attemptsSoFar, 0, -1, null, java.util.List.of());
  }

  public LinkStart(String campaignId, Mode mode, SignalRequest request, boolean acknowledged, int attemptsSoFar, long deferCapAt,
      long countBefore) {
    this(campaignId, mode, request, acknowledged, attemptsSoFar, deferCapAt, countBefore, null, java.util.List.of());
  }

  public LinkStart(String campaignId, Mode mode, SignalRequest request, boolean acknowledged, int attemptsSoFar, long deferCapAt,
      long countBefore, Baseline baseline) {
    this(campaignId, mode, request, acknowledged, attemptsSoFar, deferCapAt, countBefore, baseline, java.util.List.of());
  }
}
