package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.util.ArrayList;
import java.util.List;

/**
 * One DPU as the NPU sees it within a campaign. {@code hold}: a deferral being honoured ("" none);
 * {@code protective}: the protective state it reports ("" none); {@code escalation}: the force action
 * issued for it ("" none) and {@code forced} how that went; {@code endedAs}: "cancelled" or "aborted" when the
 * campaign ended before Reboot ("" otherwise), with {@code endedDetail} saying what became of this DPU.
 */
public record DpuProgress(String id, String host, int port, String protocol, DpuStatus status, int attempts, String ack,
    String error, boolean degraded, boolean ready, String notReady, String hold, String protective, String escalation,
    String forced, String endedAs, String endedDetail, Long countBefore, DpuTransport.Baseline baseline, Long acknowledgedAt,
    Long completedAt) implements CborSerializable {

  /**
   * Journals written before these fields existed read them as null: they mean "none". {@code countBefore}: the
   * gNOI evidence of completion journaled with the acknowledgment (-1: none); {@code baseline}: the DPU's reboot record
   * journaled before its first signal (gNOI; null: none); {@code acknowledgedAt}, {@code completedAt}: when its acknowledgment
   * and its completion were journaled (0: not yet).
   */
  public DpuProgress {
    countBefore = countBefore == null ? -1L : countBefore;
    acknowledgedAt = acknowledgedAt == null ? 0L : acknowledgedAt;
    completedAt = completedAt == null ? 0L : completedAt;
    hold = hold == null ? "" : hold;
    protective = protective == null ? "" : protective;
    escalation = escalation == null ? "" : escalation;
    forced = forced == null ? "" : forced;
    endedAs = endedAs == null ? "" : endedAs;
    endedDetail = endedDetail == null ? "" : endedDetail;
  }

  static DpuProgress pending(DpuEndpoint d) {
    return new DpuProgress(d.id(), d.host(), d.port(), d.protocol(), DpuStatus.PENDING, 0, "", "", false, false, "", "", "", "", "",
        "", "", -1L, null, 0L, 0L);
  }

  public DpuEndpoint endpoint() {
    return new DpuEndpoint(id, host, port, protocol);
  }

  /** Completed or failed: nothing more to wait for before the reboot. */
  public boolean resolved() {
    return status == DpuStatus.SHUTDOWN_COMPLETE || status == DpuStatus.FAILED;
  }

  public boolean isProtective() {
    return !protective.isEmpty();
  }

  public boolean isEscalated() {
    return !escalation.isEmpty();
  }

  /** Its force action was issued and has not reported yet. */
  public boolean isForcing() {
    return isEscalated() && forced.isEmpty();
  }

  /**
   * "ok", "degraded" (a shutdown step failed, or it did not come back in time) or "failed"; "cancelled" or
   * "aborted" when the campaign ended before Reboot.
   */
  public String outcome() {
    if (!endedAs.isEmpty()) {
      return endedAs;
    }
    if (status != DpuStatus.SHUTDOWN_COMPLETE) {
      return "failed";
    }
    return degraded || !notReady.isEmpty() ? "degraded" : "ok";
  }

  public String reason() {
    List<String> parts = new ArrayList<>();
    if (!endedDetail.isEmpty()) {
      parts.add(endedDetail);
    }
    if (!error.isEmpty() && !endedDetail.contains(error)) {
      parts.add(error);
    }
    if (isEscalated()) {
      parts.add("escalated: " + escalation + (forced.isEmpty() ? "" : " -> " + forced));
    }
    if (!notReady.isEmpty()) {
      parts.add("not ready after reboot: " + notReady);
    }
    return String.join("; ", parts);
  }

  private DpuProgress with(DpuStatus st, int att, String a, String err, boolean deg, boolean rdy, String nr, String h, String p,
      String esc, String f) {
    return new DpuProgress(id, host, port, protocol, st, att, a, err, deg, rdy, nr, h, p, esc, f, endedAs, endedDetail, countBefore, baseline,
        acknowledgedAt, completedAt);
  }

  /** The campaign was cancelled or aborted before Reboot: {@code detail} says what became of this DPU. */
  DpuProgress endedEarly(String as, String detail) {
    return new DpuProgress(id, host, port, protocol, status, attempts, ack, error, degraded, ready, notReady, hold, protective,
        escalation, forced, as, detail, countBefore, baseline, acknowledgedAt, completedAt);
  }

  DpuProgress attemptFailed(int attempt, String reason) {
    return with(status, Math.max(attempts, attempt), ack, reason, degraded, ready, notReady, hold, protective, escalation, forced);
  }

  DpuProgress acknowledged(int attempt, String text, long count, long at) {
    return new DpuProgress(id, host, port, protocol, DpuStatus.ACKNOWLEDGED, Math.max(attempts, attempt), text, "", degraded, ready,
        notReady, "", protective, escalation, forced, endedAs, endedDetail, count, baseline, at, completedAt);
  }

  /** The DPU's reboot record before its first signal is journaled (the signal goes after it). */
  DpuProgress baselined(DpuTransport.Baseline b) {
    return new DpuProgress(id, host, port, protocol, status, attempts, ack, error, degraded, ready, notReady, hold, protective,
        escalation, forced, endedAs, endedDetail, countBefore, b, acknowledgedAt, completedAt);
  }

  /** A degraded completion keeps which step failed, and how, as its error. */
  DpuProgress completed(boolean stepFailed, String detail, long at) {
    // a DPU that restarted mid-shutdown says so itself (DpuWork); any other degraded completion is a failed step
    String why = !stepFailed ? "" : detail.startsWith("restarted (boot ") ? detail : "shutdown step failed" + (detail.isEmpty() ? "" : ": " + detail);
    return new DpuProgress(id, host, port, protocol, DpuStatus.SHUTDOWN_COMPLETE, attempts, ack, why, stepFailed, ready, notReady, "", "",
        escalation, forced, endedAs, endedDetail, countBefore, baseline, acknowledgedAt, at);
  }

  DpuProgress failed(String reason) {
    return status == DpuStatus.FAILED ? this
        : with(DpuStatus.FAILED, attempts, ack, reason, degraded, ready, notReady, hold, protective, escalation, forced);
  }

  DpuProgress readyAgain() {
    return with(status, attempts, ack, error, degraded, true, "", hold, protective, escalation, forced);
  }

  DpuProgress notReadyAfterReboot(String reason) {
    return with(status, attempts, ack, error, degraded, false, reason, hold, protective, escalation, forced);
  }

  DpuProgress deferred(String text) {
    return with(status, attempts, ack, error, degraded, ready, notReady, text, protective, escalation, forced);
  }

  DpuProgress protectiveState(String state) {
    return with(status, attempts, ack, error, degraded, ready, notReady, hold, state, escalation, forced);
  }

  DpuProgress escalated(String action) {
    return with(status, attempts, ack, error, degraded, ready, notReady, hold, protective, action, forced);
  }

  DpuProgress forcedResult(String result) {
    return with(status, attempts, ack, error, degraded, ready, notReady, hold, protective, escalation, result);
  }
}
