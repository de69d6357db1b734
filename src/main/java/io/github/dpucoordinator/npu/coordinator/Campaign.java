package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A campaign. {@code force}: deferrals are not honoured; {@code deferCapAt}: no deferral is honoured past
 * it; {@code protectiveHold}: the ack deadline has already been extended once for DPUs in a protective state.
 */
public record Campaign(String id, String reason, CampaignKind kind, long startedAt, long ackDeadline, long bootWaitDeadline,
    Map<String, DpuProgress> dpus, List<StepResult> preTasks, String reboot, boolean rebootOk, long rebootAt, String outcome,
    long finishedAt, Map<String, Long> bootDeadlines, boolean force, long deferCapAt, boolean protectiveHold, String hostBootId,
    RebootAction rebootAction, Map<String, String> restarts) implements CborSerializable {

  /**
   * {@code hostBootId}: this host's boot id when the reboot action was issued ("" before, or where unknown);
   * {@code rebootAction}: what is on record about the reboot action (see {@link RebootAction}).
   */
  public Campaign {
    hostBootId = hostBootId == null ? "" : hostBootId;
    rebootAction = rebootAction == null ? RebootAction.UNTRACKED : rebootAction; // journals and snapshots from before it
    restarts = restarts == null ? Map.of() : restarts;
  }

  /** Cancelled, with these halted DPUs to be restarted by module transitions (DPU id to transition id). */
  Campaign withRestarts(Map<String, String> r) {
    return new Campaign(id, reason, kind, startedAt, ackDeadline, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, outcome,
        finishedAt, bootDeadlines, force, deferCapAt, protectiveHold, hostBootId, rebootAction, r);
  }

  /** This DPU's boot deadline after the reboot (journaled per DPU; older journals: the campaign's). */
  public long bootDeadline(String dpuId) {
    return bootDeadlines == null ? bootWaitDeadline : bootDeadlines.getOrDefault(dpuId, bootWaitDeadline);
  }

  /** Every DPU is Listening again or recorded as not ready. */
  public boolean allBack() {
    return dpus.values().stream().allMatch(d -> d.ready() || !d.notReady().isEmpty());
  }

  public boolean allResolved() {
    return dpus.values().stream().allMatch(DpuProgress::resolved);
  }

  public boolean allCompleted() {
    return dpus.values().stream().allMatch(d -> d.status() == DpuStatus.SHUTDOWN_COMPLETE);
  }

  public boolean allReady() {
    return dpus.values().stream().allMatch(DpuProgress::ready);
  }

  public long count(DpuStatus status) {
    return dpus.values().stream().filter(d -> d.status() == status).count();
  }

  /** "success" when every DPU shut down cleanly and came back and the reboot ran; else "degraded". */
  public String outcomeWith(Map<String, String> notReady) {
    boolean clean = rebootOk && notReady.isEmpty()
        && dpus.values().stream().allMatch(d -> d.status() == DpuStatus.SHUTDOWN_COMPLETE && !d.degraded());
    return clean ? "success" : "degraded";
  }

  private Campaign copy(long ack, long bootWait, Map<String, DpuProgress> d, List<StepResult> pre, String rb, boolean ok, long at,
      String out, long fin, Map<String, Long> bd, long deferCap, boolean hold) {
    return new Campaign(id, reason, kind, startedAt, ack, bootWait, d, pre, rb, ok, at, out, fin, bd, force, deferCap, hold, hostBootId,
        rebootAction, restarts);
  }

  Campaign withDpu(String dpuId, UnaryOperator<DpuProgress> f) {
    Map<String, DpuProgress> copy = new LinkedHashMap<>(dpus);
    copy.computeIfPresent(dpuId, (k, v) -> f.apply(v));
    return copy(ackDeadline, bootWaitDeadline, copy, preTasks, reboot, rebootOk, rebootAt, outcome, finishedAt, bootDeadlines,
        deferCapAt, protectiveHold);
  }

  Campaign withPreTasks(List<StepResult> results) {
    return copy(ackDeadline, bootWaitDeadline, dpus, results, reboot, rebootOk, rebootAt, outcome, finishedAt, bootDeadlines,
        deferCapAt, protectiveHold);
  }

  Campaign withAckDeadline(long deadline, long deferCap) {
    return copy(deadline, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, outcome, finishedAt, bootDeadlines, deferCap,
        protectiveHold);
  }

  Campaign withProtectiveHold(long holdUntil) {
    return copy(holdUntil, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, outcome, finishedAt, bootDeadlines,
        deferCapAt, true);
  }

  Campaign withReboot(String action, boolean ok, long at, long bootDeadline, Map<String, Long> deadlines) {
    return copy(ackDeadline, bootDeadline, dpus, preTasks, action, ok, at, outcome, finishedAt, deadlines, deferCapAt, protectiveHold);
  }

  /** The reboot action is issued on the boot {@code bootId}, with what is on record about it. */
  Campaign withRebootAction(String bootId, RebootAction action) {
    return new Campaign(id, reason, kind, startedAt, ackDeadline, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, outcome,
        finishedAt, bootDeadlines, force, deferCapAt, protectiveHold, bootId, action, restarts);
  }

  Campaign finished(String result, long at) {
    return copy(ackDeadline, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, result, at, bootDeadlines, deferCapAt,
        protectiveHold);
  }
}
