package io.github.dpucoordinator.npu.transport;

import io.grpc.Status;

/**
 * The one place where the NPU reads a DPU's prose: what a gNOI DPU says in no field. Each rule names whose wording
 * it reads. This project's own agent says the same in fields (protective-state trailers, the failed-steps field of
 * RebootStatus), which the transport reads first; these rules serve other gNOI DPUs and agents of earlier versions.
 */
final class GnoiText {
  private static final String FAILED_STEPS = "failed steps:";
  private static final String PROTECTIVE = "protective state ";

  private GnoiText() {}

  /** SONiC answers a Reboot while one runs with INVALID_ARGUMENT "... reboot in progress ..." (and so do our agents). */
  static boolean inProgress(Status status) {
    return status.getCode() == Status.Code.INVALID_ARGUMENT && String.valueOf(status.getDescription()).toLowerCase().contains("in progress");
  }

  /**
   * An agent of an earlier version refused a Reboot with UNAVAILABLE "protective state NAME: REASON" and no trailers:
   * "NAME: REASON", or null when the refusal is not one of those.
   */
  static String protectiveRefusal(Status status) {
    String description = String.valueOf(status.getDescription());
    return status.getCode() == Status.Code.UNAVAILABLE && description.startsWith(PROTECTIVE)
        ? description.substring(PROTECTIVE.length()).trim() : null;
  }

  /** An agent of an earlier version named failed steps at the end of RebootStatus' message ("...; failed steps: a, b"). */
  static String failedSteps(String message) {
    int at = message.indexOf(FAILED_STEPS);
    return at < 0 ? "" : message.substring(at + FAILED_STEPS.length()).trim();
  }
}
