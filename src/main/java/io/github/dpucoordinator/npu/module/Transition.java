package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;

/** A module transition in flight, in its {@link Step}. */
public record Transition(String id, ModuleKind kind, String reason, DpuEndpoint dpu, Step phase, boolean acknowledged,
    boolean powerIssued, String detail, long startedAt, long bootDeadline, Long countBefore, Boolean haltFailed, DpuTransport.Baseline baseline)
    implements CborSerializable {

  /**
   * Where a transition is: a shutdown halts the DPU, then powers it off; a startup powers it on, then waits for it to
   * boot. Journaled by name (as the strings of earlier versions were).
   */
  public enum Step { HALTING, POWERING_OFF, POWERING_ON, WAITING_FOR_BOOT }


  /**
   * {@code countBefore}: the gNOI evidence journaled with the HALT's acknowledgment (-1: none); {@code haltFailed}: the
   * HALT of a shutdown did not complete (the power-off went ahead); {@code baseline}: the DPU's reboot record journaled
   * before the HALT (gNOI; null: none). Null in journals written before they existed.
   */
  public Transition {
    countBefore = countBefore == null ? -1L : countBefore;
    // snapshots written before the flag existed said so only in the detail
    haltFailed = haltFailed != null ? haltFailed : detail != null && detail.startsWith("halt failed");
  }

  Transition with(Step nextPhase, boolean ack, boolean issued, String d, long deadline) {
    return new Transition(id, kind, reason, dpu, nextPhase, ack, issued, d, startedAt, deadline, countBefore, haltFailed, baseline);
  }

  Transition haltAcknowledged(long count) {
    return new Transition(id, kind, reason, dpu, phase, true, powerIssued, detail, startedAt, bootDeadline, count, haltFailed, baseline);
  }

  Transition baselined(DpuTransport.Baseline b) {
    return new Transition(id, kind, reason, dpu, phase, acknowledged, powerIssued, detail, startedAt, bootDeadline, countBefore, haltFailed, b);
  }

  Transition halted(boolean ok, String d) {
    return new Transition(id, kind, reason, dpu, Step.POWERING_OFF, acknowledged, false, d, startedAt, 0, countBefore, !ok, baseline);
  }
}
