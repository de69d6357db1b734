package io.github.dpucoordinator.agent.machine;

/** What a reboot signal did. */
public enum Disposition {
  /** it started a graceful shutdown */
  STARTED,
  /** a graceful shutdown is already running; the signal joined it */
  IN_PROGRESS,
  /** the shutdown for this campaign already completed, or the DPU is already shut down */
  ALREADY_COMPLETE,
  /** a delayed reboot was scheduled (gNOI Reboot with delay > 0) */
  SCHEDULED,
  /** nothing started: host reboots are deferred (dpu-hold defer) and the signal was not forced */
  DEFERRED,
  /** nothing started: a protective state refuses every reboot (gNOI and the seed's signal) */
  REFUSED
}
