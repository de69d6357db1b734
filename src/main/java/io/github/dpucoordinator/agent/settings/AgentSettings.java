package io.github.dpucoordinator.agent.settings;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.StepSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The {@code dpu-coordinator.agent} section.
 *
 * @param tenantCleanup run first on every host reboot signal, WARM included (the only steps a WARM one runs)
 * @param restartAfter how long after ShutdownComplete the simulated restart brings the agent back to
 *     Listening; empty means it waits for a real restart of its process
 * @param maxDefer the longest deferral of host reboots one {@code dpu-hold defer} may ask for
 */
public record AgentSettings(
    String dpuId,
    String host,
    int port,
    List<StepSpec> shutdownSteps,
    List<StepSpec> tenantCleanup,
    Optional<Duration> restartAfter,
    int rememberedCampaigns,
    String rebootCommand,
    Duration rebootCommandTimeout,
    Duration simulatedRebootTime,
    Duration maxDefer,
    RebootNoticeSettings notice,
    Duration askTimeout) {

  public AgentSettings {
    if (maxDefer.isZero() || maxDefer.isNegative()) {
      throw new IllegalArgumentException("dpu-coordinator.agent.max-defer must be a positive duration, not " + maxDefer.toMillis() + " ms");
    }
    if (askTimeout.isZero() || askTimeout.isNegative()) {
      throw new IllegalArgumentException(ASK_TIMEOUT + " must be a positive duration, not " + askTimeout.toMillis() + " ms");
    }
  }

  /** How long a call of the agent's gRPC APIs waits for its actors. */
  public static final String ASK_TIMEOUT = "dpu-coordinator.agent.ask-timeout";

  /** Reads and checks the section; inconsistent settings are an IllegalArgumentException naming the keys. */
  public static AgentSettings create(Config root) {
    Config c = root.getConfig("dpu-coordinator.agent");
    Duration restart = c.getDuration("restart-after");
    return new AgentSettings(
        c.getString("id"),
        c.getString("host"),
        c.getInt("port"),
        StepSpec.listFrom(c, "shutdown-steps"),
        StepSpec.listFrom(c, "tenant-cleanup"),
        restart.isNegative() ? Optional.empty() : Optional.of(restart),
        c.getInt("remembered-campaigns"),
        c.getString("reboot-command"),
        c.getDuration("reboot-command-timeout"),
        c.getDuration("simulated-reboot-time"),
        c.getDuration("max-defer"),
        RebootNoticeSettings.create(c),
        c.getDuration("ask-timeout"));
  }

  public AgentSettings withId(String id) {
    return new AgentSettings(id, host, port, shutdownSteps, tenantCleanup, restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime, maxDefer, notice, askTimeout);
  }

  public AgentSettings withPort(int newPort) {
    return new AgentSettings(dpuId, host, newPort, shutdownSteps, tenantCleanup, restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime, maxDefer, notice, askTimeout);
  }

  public AgentSettings withRestartAfter(Optional<Duration> restart) {
    return new AgentSettings(dpuId, host, port, shutdownSteps, tenantCleanup, restart, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime, maxDefer, notice, askTimeout);
  }

  public AgentSettings withSteps(List<StepSpec> steps) {
    return new AgentSettings(dpuId, host, port, List.copyOf(steps), tenantCleanup, restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime, maxDefer, notice, askTimeout);
  }

  public AgentSettings withTenantCleanup(List<StepSpec> steps) {
    return new AgentSettings(dpuId, host, port, shutdownSteps, List.copyOf(steps), restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime, maxDefer, notice, askTimeout);
  }

  public AgentSettings withRebootCommand(String command) {
    return new AgentSettings(dpuId, host, port, shutdownSteps, tenantCleanup, restartAfter, rememberedCampaigns, command,
        rebootCommandTimeout, simulatedRebootTime, maxDefer, notice, askTimeout);
  }

  public AgentSettings withSimulatedRebootTime(Duration time) {
    return new AgentSettings(dpuId, host, port, shutdownSteps, tenantCleanup, restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, time, maxDefer, notice, askTimeout);
  }

  public AgentSettings withNotice(RebootNoticeSettings newNotice) {
    return new AgentSettings(dpuId, host, port, shutdownSteps, tenantCleanup, restartAfter, rememberedCampaigns, rebootCommand,
        rebootCommandTimeout, simulatedRebootTime, maxDefer, newNotice, askTimeout);
  }

  public AgentSettings plusSteps(List<StepSpec> more) {
    List<StepSpec> all = new ArrayList<>(shutdownSteps);
    all.addAll(more);
    return withSteps(all);
  }
}
