package io.github.dpucoordinator.agent;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.StepSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The {@code dpu-coordinator.agent} section.
 *
 * @param restartAfter how long after ShutdownComplete the simulated restart brings the agent back to
 *     Listening; empty means it waits for a real restart of its process
 */
public record AgentSettings(
    String dpuId,
    String host,
    int port,
    List<StepSpec> shutdownSteps,
    Optional<Duration> restartAfter,
    int rememberedCampaigns) {

  public static AgentSettings create(Config root) {
    Config c = root.getConfig("dpu-coordinator.agent");
    Duration restart = c.getDuration("restart-after");
    return new AgentSettings(
        c.getString("id"),
        c.getString("host"),
        c.getInt("port"),
        StepSpec.listFrom(c, "shutdown-steps"),
        restart.isNegative() ? Optional.empty() : Optional.of(restart),
        c.getInt("remembered-campaigns"));
  }

  public AgentSettings withId(String id) {
    return new AgentSettings(id, host, port, shutdownSteps, restartAfter, rememberedCampaigns);
  }

  public AgentSettings withPort(int newPort) {
    return new AgentSettings(dpuId, host, newPort, shutdownSteps, restartAfter, rememberedCampaigns);
  }

  public AgentSettings withRestartAfter(Optional<Duration> restart) {
    return new AgentSettings(dpuId, host, port, shutdownSteps, restart, rememberedCampaigns);
  }

  public AgentSettings plusSteps(List<StepSpec> more) {
    List<StepSpec> all = new ArrayList<>(shutdownSteps);
    all.addAll(more);
    return new AgentSettings(dpuId, host, port, List.copyOf(all), restartAfter, rememberedCampaigns);
  }
}
