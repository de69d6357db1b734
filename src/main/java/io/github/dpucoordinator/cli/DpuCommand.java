package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.StepSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorSystem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    checkOptions();
    Config config = AppConfig.load();
    AgentSettings settings;
    try {
      settings = settings(AgentSettings.create(config));
    } catch (com.typesafe.config.ConfigException e) {
      System.err.println("dpuctl dpu: invalid configuration: " + AppConfig.describe(e));
      return ExitCodes.STARTUP_FAILED;
    } catch (IllegalArgumentException e) {
      System.err.println("dpuctl dpu: invalid configuration: " + e.getMessage());
      return ExitCodes.STARTUP_FAILED;
    }
    ActorSystem<Void> system = Systems.create("dpu-agent", config);
    try {
      AgentServer.Running running = Systems.await(AgentServer.start(system, settings), Duration.ofSeconds(30));
      System.out.printf("DPU agent %s listening on %s:%d (%d shutdown step(s), %d tenant cleanup step(s), NPU %s)%n", settings.dpuId(),
          settings.host(), running.port(), settings.shutdownSteps().size(), settings.tenantCleanup().size(),
          settings.notice().hasNpu() ? settings.notice().npuAddress() : "not configured");
      io.github.dpucoordinator.common.SystemdNotify.ready("DPU agent " + settings.dpuId() + " listening on port " + running.port());
    } catch (Exception e) {
      System.err.printf("dpuctl dpu: cannot start agent %s on %s:%d: %s%n", settings.dpuId(), settings.host(), settings.port(),
          Systems.rootMessage(e));
      system.terminate();
      return ExitCodes.STARTUP_FAILED;
    }
    system.getWhenTerminated().toCompletableFuture().join();
    return ExitCodes.OK;
  }

  /** Bad options are usage errors, found before anything starts. */
  private void checkOptions() {
    Options.require(spec, id == null || id.matches("[A-Za-z0-9_.-]+"), "--id '" + id + "': a DPU id is letters, digits, '_', '.' or '-'");
    Options.require(spec, port == null || (port >= 0 && port <= 65535), "--port " + port + " is out of range 0-65535 (0: any free port)");
    Options.require(spec, shutdownMs == null || shutdownMs >= 0, "--shutdown-ms " + shutdownMs + " must not be negative");
    Options.require(spec, restartMs == null || restartMs >= 0, "--restart-ms " + restartMs + " must not be negative");
    Options.require(spec, shutdownCommandTimeoutMs > 0, "--shutdown-cmd-timeout " + shutdownCommandTimeoutMs + " must be positive (ms)");
    shutdownCommands.forEach(c -> Options.require(spec, !c.isBlank(), "--shutdown-cmd must not be empty"));
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
