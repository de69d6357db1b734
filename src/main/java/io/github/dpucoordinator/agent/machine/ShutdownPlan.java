package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.StepSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The steps one reboot runs, in order: the per-tenant cleanup (reported as {@code tenant-cleanup:<name>}),
 * then the shutdown steps, unless only the cleanup runs (a WARM host reboot: the DPU keeps power).
 * An index at or past {@link #cleanupSteps()} is the shutdown part, which a protective state holds back.
 */
record ShutdownPlan(List<StepSpec> steps, int cleanupSteps, boolean cleanupOnly) {

  static final String CLEANUP_PREFIX = "tenant-cleanup:";

  static ShutdownPlan of(AgentSettings settings, boolean cleanupOnly) {
    List<StepSpec> steps = new ArrayList<>();
    for (StepSpec s : settings.tenantCleanup()) {
      steps.add(new StepSpec(CLEANUP_PREFIX + s.name(), s.command(), s.timeout(), s.simulated()));
    }
    if (!cleanupOnly) {
      steps.addAll(settings.shutdownSteps());
    }
    return new ShutdownPlan(List.copyOf(steps), settings.tenantCleanup().size(), cleanupOnly);
  }

  /** The shutdown steps, and the completion after them, may not run while a protective state holds. */
  boolean heldByProtectiveState(int index) {
    return !cleanupOnly && index >= cleanupSteps;
  }

  /** "tenant cleanup step 1/2" or "shutdown step 2/3", for the logs. */
  String label(int index) {
    return index < cleanupSteps
        ? "tenant cleanup step " + (index + 1) + "/" + cleanupSteps
        : "shutdown step " + (index - cleanupSteps + 1) + "/" + (steps.size() - cleanupSteps);
  }
}
