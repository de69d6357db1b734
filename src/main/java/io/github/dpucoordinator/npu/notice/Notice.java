package io.github.dpucoordinator.npu.notice;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Decision;

/**
 * A DPU-initiated reboot the NPU knows of, per DPU: the notice (reason, planned time, hard deadline), the
 * latest round and what the NPU answered, and once the DPU went, when it is expected back. Deadlines are
 * absolute, so a restarted service keeps them.
 */
public record Notice(String id, String dpuId, String reason, long plannedAt, long hardDeadline, int round, Decision decision,
    long postponedUntil, String answer, boolean going, String why, long wentAt, long expectBackBy, String leavingBootId)
    implements CborSerializable {

  public Notice {
    leavingBootId = leavingBootId == null ? "" : leavingBootId;
  }

  /** "notice n…, went, expected back by …" or "notice n…, hard deadline …": how blockers and refusals name it. */
  public String describe() {
    return "notice " + id + ", " + (going ? "went, expected back by " + java.time.Instant.ofEpochMilli(expectBackBy)
        : "hard deadline " + java.time.Instant.ofEpochMilli(hardDeadline));
  }

  /** Answered: {@code decision} (null until the NPU has answered a round). */
  Notice answered(Decision d, long until, String detail) {
    return new Notice(id, dpuId, reason, plannedAt, hardDeadline, round, d, until, detail, going, why, wentAt, expectBackBy, leavingBootId);
  }

  Notice round(int r) {
    return new Notice(id, dpuId, reason, plannedAt, hardDeadline, r, decision, postponedUntil, answer, going, why, wentAt, expectBackBy,
        leavingBootId);
  }

  Notice went(String w, long at, long backBy, String bootId) {
    return new Notice(id, dpuId, reason, plannedAt, hardDeadline, round, decision, postponedUntil, answer, true, w, at, backBy, bootId);
  }
}
