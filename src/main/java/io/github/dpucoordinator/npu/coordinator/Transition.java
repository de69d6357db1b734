package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;

/**
 * A module transition in flight. Phases: HALTING and POWERING_OFF for a shutdown, POWERING_ON and
 * WAITING_FOR_BOOT for a startup.
 */
public record Transition(String id, String kind, String reason, DpuEndpoint dpu, String phase, boolean acknowledged,
    boolean powerIssued, String detail, long startedAt, long bootDeadline, Long countBefore, Boolean haltFailed)
    implements CborSerializable {

  /**
   * {@code countBefore}: the gNOI evidence journaled with the HALT's acknowledgment (-1: none); {@code haltFailed}: the
   * HALT of a shutdown did not complete (the power-off went ahead). Null in journals written before they existed.
   */
  public Transition {
    countBefore = countBefore == null ? -1L : countBefore;
    // snapshots written before the flag existed said so only in the detail
    haltFailed = haltFailed != null ? haltFailed : detail != null && detail.startsWith("halt failed");
  }

  Transition with(String nextPhase, boolean ack, boolean issued, String d, long deadline) {
    return new Transition(id, kind, reason, dpu, nextPhase, ack, issued, d, startedAt, deadline, countBefore, haltFailed);
  }

  Transition haltAcknowledged(long count) {
    return new Transition(id, kind, reason, dpu, phase, true, powerIssued, detail, startedAt, bootDeadline, count, haltFailed);
  }

  Transition halted(boolean ok, String d) {
    return new Transition(id, kind, reason, dpu, "POWERING_OFF", acknowledged, false, d, startedAt, 0, countBefore, !ok);
  }
}
