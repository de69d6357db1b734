package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.common.StepResult;
import java.util.List;

/**
 * What the agent tells about itself. {@code completedCampaigns} lists the recent campaigns whose
 * shutdown has completed (a signal that arrived during a shutdown joins that shutdown);
 * {@code shutdownRuns} counts every graceful shutdown this process ran, whichever protocol asked;
 * {@code holds} are the protective state and the deferral of host reboots.
 */
public record AgentSnapshot(
    String dpuId,
    AgentState state,
    long version,
    String campaignId,
    List<String> completedCampaigns,
    boolean degraded,
    List<StepResult> steps,
    long shutdownRuns,
    String bootId,
    long sinceMillis,
    Reboot reboot,
    Holds holds) {

  /** Shut down (ShutdownComplete or WaitForRestart) and in no protective state: the NPU may cut its power. */
  public boolean safeToPowerOff() {
    return state.shutDown() && !holds.protectiveActive();
  }

  /**
   * The reboot scheduled, in progress, or finished since this boot ({@code method} null: none).
   * {@code active}: scheduled, shutting down, or restarting after COLD/WARM; {@code finished}: a HALT or
   * signal shutdown completed and the DPU is down, or a COLD/WARM restart action failed
   * ({@code failure} says how).
   */
  public record Reboot(DpuAgent.Method method, String reason, long startedAtMillis, long scheduledAtMillis, boolean active,
      boolean finished, String failure) {}
}
