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
    int rememberedCampaigns,
    String rebootCommand,
    Duration rebootCommandTimeout,
    Duration simulatedRebootTime) {

  public static AgentSettings create(Config root) {
    Config c = root.getConfig("dpu-coordinator.agent");
    Duration restart = c.getDuration("restart-after");
    return new AgentSettings(
        c.getString("id"),
        c.getString("host"),
        c.getInt("port"),
        StepSpec.listFrom(c, "shutdown-steps"),
        restart.isNegative() ? Optional.empty() : Optional.of(restart),
        c.getInt("remembered-campaigns"),
        c.getString("reboot-command"),
        c.getDuration("reboot-command-timeout"),
        c.getDuration("simulated-reboot-time"));
  }

  public AgentSettings withId(String id) {
    return new AgentSettings(id, host, port, shutdownSteps, restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime);
  }

  public AgentSettings withPort(int newPort) {
    return new AgentSettings(dpuId, host, newPort, shutdownSteps, restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime);
  }

  public AgentSettings withRestartAfter(Optional<Duration> restart) {
    return new AgentSettings(dpuId, host, port, shutdownSteps, restart, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime);
  }

  public AgentSettings withSteps(List<StepSpec> steps) {
    return new AgentSettings(dpuId, host, port, List.copyOf(steps), restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime);
  }

  public AgentSettings withRebootCommand(String command) {
    return new AgentSettings(dpuId, host, port, shutdownSteps, restartAfter, rememberedCampaigns, command,
        rebootCommandTimeout, simulatedRebootTime);
  }

  public AgentSettings withSimulatedRebootTime(Duration time) {
    return new AgentSettings(dpuId, host, port, shutdownSteps, restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, time);
  }

  public AgentSettings plusSteps(List<StepSpec> more) {
    List<StepSpec> all = new ArrayList<>(shutdownSteps);
    all.addAll(more);
    return withSteps(all);
  }
}
