package io.github.dpucoordinator.agent.notice;

import io.github.dpucoordinator.agent.settings.RebootNoticeSettings;
import java.util.ArrayList;
import java.util.List;

/**
 * One DPU-initiated reboot, as {@link RebootNegotiator} negotiates it with the NPU: the same id on every
 * round, the planned time and the hard deadline (the DPU reboots then, whatever the NPU says), and a
 * log of short human lines that {@code dpuctl dpu-reboot} prints as they come.
 *
 * @param round the notice round (1 for the first, +1 each time a postponement ends)
 * @param postponedUntil while POSTPONED: when the next round goes out
 * @param wentWhy once REBOOTING: why the DPU went (acknowledged, hard deadline, ...)
 */
public record RebootNotice(String id, String dpuId, String reason, long plannedAt, long hardDeadline, Phase phase, int round,
    long postponedUntil, String wentWhy, List<String> log) {

  /** Bounds the log: a notice retried against an unreachable NPU for ten minutes must not grow without end. */
  static final int MAX_LOG_LINES = 200;

  public enum Phase { NOTIFYING, POSTPONED, REBOOTING, DONE }

  public RebootNotice {
    log = List.copyOf(log);
  }

  static RebootNotice start(String id, String dpuId, String reason, long now, long hardDeadline) {
    return new RebootNotice(id, dpuId, reason, now, hardDeadline, Phase.NOTIFYING, 0, 0, "", List.of());
  }

  /** Still negotiating: a new request is refused and a postponement may be asked for. */
  public boolean inFlight() {
    return phase == Phase.NOTIFYING || phase == Phase.POSTPONED;
  }

  RebootNotice nextRound() {
    return new RebootNotice(id, dpuId, reason, plannedAt, hardDeadline, Phase.NOTIFYING, round + 1, 0, wentWhy, log);
  }

  RebootNotice postponed(long until) {
    return new RebootNotice(id, dpuId, reason, plannedAt, hardDeadline, Phase.POSTPONED, round, until, wentWhy, log);
  }

  RebootNotice going(String why) {
    return new RebootNotice(id, dpuId, reason, plannedAt, hardDeadline, Phase.REBOOTING, round, 0, why, log);
  }

  RebootNotice done() {
    return new RebootNotice(id, dpuId, reason, plannedAt, hardDeadline, Phase.DONE, round, 0, wentWhy, log);
  }

  /** Adds a line; past the bound only the lines that end the story (rebooting, done) are still kept. */
  RebootNotice logged(String line, boolean always) {
    if (log.size() >= MAX_LOG_LINES && !always) {
      return this;
    }
    List<String> more = new ArrayList<>(log);
    more.add(line);
    return new RebootNotice(id, dpuId, reason, plannedAt, hardDeadline, phase, round, postponedUntil, wentWhy, more);
  }

  /** Why a PostponeReboot cannot be honoured, or null when it can. */
  static String postponeRefusal(RebootNotice notice, RebootNoticeSettings caps, String noticeId, String identity) {
    // what there is to postpone first, then who may: "no notice" is the answer whoever asks
    if (notice == null || notice.phase() == RebootNotice.Phase.DONE) {
      return "no DPU-initiated reboot is in flight (start one with `dpuctl dpu-reboot`)";
    }
    if (!noticeId.isEmpty() && !noticeId.equals(notice.id())) {
      return "notice " + noticeId + " is not the current one (" + notice.id() + ", " + notice.phase() + ")";
    }
    if (notice.phase() == RebootNotice.Phase.REBOOTING) {
      return "notice " + notice.id() + " is already rebooting (" + notice.wentWhy() + ")";
    }
    if (!caps.allowedToPostpone(identity)) {
      return "identity " + (identity.isEmpty() ? "(none)" : identity) + " is not allowed to postpone; allowed: "
          + String.join(", ", caps.allowedPostponers()) + " (dpu-coordinator.agent.reboot-notice.allowed-postponers)";
    }
    return null;
  }

  /** What of a postponement until {@code asked} can be granted at {@code now}: the per-request, total and hard caps. */
  long capped(RebootNoticeSettings caps, long asked, long now) {
    long cap = Math.min(now + caps.maxPostponePerRequest().toMillis(),
        Math.min(plannedAt() + caps.maxPostponeTotal().toMillis(), hardDeadline()));
    return Math.min(asked, cap);
  }
}
