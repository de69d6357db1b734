package io.github.dpucoordinator.agent.notice;

import io.github.dpucoordinator.agent.settings.RebootNoticeSettings;
import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.UtcTime;
import io.github.dpucoordinator.proto.notice.Decision;
import io.github.dpucoordinator.proto.notice.NoticeAnswer;

/**
 * What the NPU's answer to one round of a DPU-initiated reboot notice means for the DPU, decided in one place: the
 * NPU rejected the notice (no more rounds; the DPU goes at its hard deadline), could not be asked (ask again), lets the
 * DPU go, or postpones it (within the caps, and only for an identity allowed to). Each verdict carries its log line.
 */
final class NpuAnswer {
  sealed interface Verdict {}

  record Rejected(String rejection, String line) implements Verdict {}

  record Retry(String line) implements Verdict {}

  record Go(String why, String line) implements Verdict {}

  record Postpone(long until, String line) implements Verdict {}

  private NpuAnswer() {}

  /** The verdict on round {@code round}'s {@code answer} (or {@code failure}) for {@code notice} at {@code now}. */
  static Verdict of(int round, NoticeAnswer answer, Throwable failure, RebootNotice notice, RebootNoticeSettings caps, long now) {
    String prefix = "round " + round + ": ";
    if (NpuNoticeClient.rejected(failure)) {
      String rejection = Failures.describe(failure);
      return new Rejected(rejection, prefix + "NPU rejected the notice (" + rejection + "); no more rounds, rebooting at the hard deadline "
          + UtcTime.of(notice.hardDeadline()) + " (check the DPU ids in dpu-coordinator.npu.dpus and dpu-coordinator.agent.id)");
    }
    if (failure != null || answer.getDecision() == Decision.DECISION_UNSPECIFIED || answer.getDecision() == Decision.UNRECOGNIZED) {
      String what = failure != null ? "NPU unreachable (" + Failures.describe(failure) + ")" : "NPU answered without a decision";
      long retry = caps.retryInterval().toMillis();
      return new Retry(prefix + what + "; retrying in " + (retry % 1000 == 0 ? retry / 1000 + " s" : retry + " ms"));
    }
    String who = "NPU (" + (answer.getResponder().isEmpty() ? "unnamed" : answer.getResponder()) + ")";
    if (answer.getDecision() == Decision.ACK) {
      return new Go("acknowledged", prefix + who + " answered ACK; rebooting");
    }
    String asked = prefix + who + " answered POSTPONE until " + UtcTime.of(answer.getPostponeUntilUnixMs())
        + (answer.getReason().isEmpty() ? "" : " (" + answer.getReason() + ")");
    if (!caps.allowedToPostpone(answer.getResponder())) {
      return new Go("postponement refused", asked + "; refused: '" + answer.getResponder()
          + "' is not in dpu-coordinator.agent.reboot-notice.allowed-postponers; rebooting");
    }
    long granted = notice.capped(caps, answer.getPostponeUntilUnixMs(), now);
    return granted <= now
        ? new Go("postponement cap reached", asked + "; postponement cap reached; rebooting")
        : new Postpone(granted, asked + "; granted until " + UtcTime.of(granted));
  }
}
