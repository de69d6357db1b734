package io.github.dpucoordinator.agent;

import io.github.dpucoordinator.common.StepResult;
import java.util.List;

/**
 * What the agent tells about itself. {@code completedCampaigns} lists the recent campaigns whose
 * shutdown has completed (a signal that arrived during a shutdown joins that shutdown).
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
    long sinceMillis) {}
