package io.github.dpucoordinator.npu.notice;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Decision;
import io.github.dpucoordinator.npu.settings.NegotiationSettings;
import java.util.List;

/**
 * What the NPU answers one round of a DPU's notice, from its pre-DPU-reboot hooks (R3, R4): POSTPONE while a hook
 * exits with {@code dpu-reboot.postpone-exit-code} ("not yet"), for {@code postpone-for} at a time, never past
 * {@code max-postpone-total} from the planned time nor the hard deadline; ACK otherwise. A hook that fails in any other
 * way never holds the DPU ({@code broken} says so). Pure.
 *
 * @param until POSTPONE's end (0 for ACK)
 */
record NoticeAnswer(Decision decision, long until, String detail, List<String> broken) {

  static NoticeAnswer of(Notice notice, List<StepResult> results, long now, NegotiationSettings n) {
    int postpone = n.postponeExitCode();
    List<String> wait = results.stream().filter(r -> !r.ok() && r.exited(postpone)).map(r -> r.name() + ": " + r.detail()).toList();
    List<String> broken = results.stream().filter(r -> !r.ok() && !r.exited(postpone))
        .map(r -> r.name() + " failed (" + r.detail() + "), not holding the DPU for it").toList();
    String brokenText = broken.isEmpty() ? "" : "; " + String.join("; ", broken);
    if (wait.isEmpty()) {
      return new NoticeAnswer(Decision.ACK, 0, (results.isEmpty() ? "no hooks configured" : results.size() + " hook(s) done") + brokenText,
          broken);
    }
    long cap = Math.min(notice.plannedAt() + n.maxPostponeTotal().toMillis(), notice.hardDeadline());
    long until = Math.min(now + n.postponeFor().toMillis(), cap);
    if (until - now < 1000) {
      return new NoticeAnswer(Decision.ACK, 0, "would postpone (" + String.join("; ", wait) + ") but the postponement cap is reached "
          + "(dpu-coordinator.npu.dpu-reboot.max-postpone-total " + n.maxPostponeTotal().toSeconds() + " s, or the hard deadline)"
          + brokenText, broken);
    }
    return new NoticeAnswer(Decision.POSTPONE, until, String.join("; ", wait) + brokenText, broken);
  }
}
