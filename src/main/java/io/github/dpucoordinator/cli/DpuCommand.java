package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.StepSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorSystem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "dpu", mixinStandardHelpOptions = true,
    description = "Run a DPU agent: the DPU's graceful-shutdown state machine, serving gnoi.system.System, the seed's "
        + "reboot.RebootService and its own control API (dpu-reboot, dpu-hold, dpu-postpone) on one gRPC port.",
    footer = ExitCodes.HELP)
final class DpuCommand implements Callable<Integer> {

  @Option(names = "--id", description = "DPU id (default: dpu-coordinator.agent.id).")
  String id;

  @Option(names = "--port", description = "gRPC port (default: dpu-coordinator.agent.port).")
  Integer port;

  @Option(names = "--shutdown-cmd", paramLabel = "CMD",
      description = "A shutdown step run with sh -c, after the configured steps; repeatable, run in order.")
  List<String> shutdownCommands = new ArrayList<>();

  @Option(names = "--shutdown-cmd-timeout", paramLabel = "MS", defaultValue = "30000",
      description = "Timeout of each --shutdown-cmd step in ms (default ${DEFAULT-VALUE}).")
  long shutdownCommandTimeoutMs;

  @Option(names = "--shutdown-ms", paramLabel = "T", description = "Add a simulated shutdown step taking T ms.")
  Long shutdownMs;

  @Option(names = "--restart-ms", paramLabel = "R",
      description = "Simulate the restart R ms after ShutdownComplete (back to Listening). Default: wait for a real restart.")
  Long restartMs;

  @Override
  public Integer call() throws Exception {
    Config config = AppConfig.load();
    AgentSettings settings;
    try {
      settings = settings(AgentSettings.create(config));
    } catch (IllegalArgumentException | com.typesafe.config.ConfigException e) {
      System.err.println("dpuctl dpu: invalid configuration: " + e.getMessage());
      return ExitCodes.STARTUP_FAILED;
    }
    ActorSystem<Void> system = Systems.create("dpu-agent", config);
    try {
      AgentServer.Running running = Systems.await(AgentServer.start(system, settings), Duration.ofSeconds(30));
      System.out.printf("DPU agent %s listening on %s:%d (%d shutdown step(s), %d tenant cleanup step(s), NPU %s)%n", settings.dpuId(),
          settings.host(), running.port(), settings.shutdownSteps().size(), settings.tenantCleanup().size(),
          settings.notice().hasNpu() ? settings.notice().npuAddress() : "not configured");
    } catch (Exception e) {
      System.err.printf("dpuctl dpu: cannot start agent %s on %s:%d: %s%n", settings.dpuId(), settings.host(), settings.port(),
          Systems.rootMessage(e));
      system.terminate();
      return ExitCodes.STARTUP_FAILED;
    }
    system.getWhenTerminated().toCompletableFuture().join();
    return ExitCodes.OK;
  }

  AgentSettings settings(AgentSettings base) {
    AgentSettings s = base;
    if (id != null) {
      s = s.withId(id);
    }
    if (port != null) {
      s = s.withPort(port);
    }
    List<StepSpec> extra = new ArrayList<>();
    for (int i = 0; i < shutdownCommands.size(); i++) {
      extra.add(StepSpec.command("shutdown-cmd-" + (i + 1), shutdownCommands.get(i), Duration.ofMillis(shutdownCommandTimeoutMs)));
    }
    if (shutdownMs != null) {
      extra.add(StepSpec.simulated("simulated-shutdown", Duration.ofMillis(shutdownMs)));
    }
    s = s.plusSteps(extra);
    if (restartMs != null) {
      s = s.withRestartAfter(Optional.of(Duration.ofMillis(restartMs)));
    }
    return s;
  }
}
