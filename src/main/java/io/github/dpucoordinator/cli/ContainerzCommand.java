package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.DataDir;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.npu.containerz.ContainerzServer;
import io.github.dpucoordinator.npu.containerz.ContainerzSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.ServerBinding;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `dpuctl containerz`: gNOI Containerz served alone, for a host that needs only that; and its client commands. */
@Command(name = "containerz", mixinStandardHelpOptions = true,
    description = {"Serve gNOI Containerz alone (the NPU service serves it too, on its DPU API),",
        "or use one: `containerz image push|list|remove`, `containerz container start|stop|list|logs|remove|update`."},
    subcommands = {ContainerzImageCommand.class, ContainerzContainerCommand.class}, footer = ExitCodes.HELP)
final class ContainerzCommand implements Callable<Integer> {
  @Option(names = "--data-dir", paramLabel = "DIR", description = "Where images and containers live, under DIR/containerz "
      + "(default: dpu-coordinator.npu.data-dir).")
  Path dataDir;

  @Option(names = "--host", paramLabel = "ADDR", description = "Address to bind (default: dpu-coordinator.npu.dpu-api.host).")
  String host;

  @Option(names = "--port", paramLabel = "P", description = "Port (default: dpu-coordinator.npu.dpu-api.port; 0: any free port).")
  Integer port;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Options.require(spec, port == null || (port >= 0 && port <= 65535), "--port " + port + " is out of range 0-65535");
    Config config = AppConfig.load();
    if (dataDir != null) {
      config = AppConfig.withDataDir(config, dataDir);
    }
    String bindHost = host != null ? host : config.getString("dpu-coordinator.npu.dpu-api.host");
    int bindPort = port != null ? port : config.getInt("dpu-coordinator.npu.dpu-api.port");
    Path dir = Path.of(config.getString(AppConfig.DATA_DIR_KEY));
    ContainerzSettings settings;
    try {
      settings = ContainerzSettings.of(config, dir);
      DataDir.prepare(dir);
    } catch (Exception e) {
      System.err.println("dpuctl containerz: " + Systems.rootMessage(e));
      return ExitCodes.STARTUP_FAILED;
    }
    ActorSystem<Void> system = Systems.create("containerz", config);
    try {
      GrpcServers.Service service = ContainerzServer.open(system, settings, Set.of()).service();
      ServerBinding binding = Systems.await(GrpcServers.bind(system, bindHost, bindPort, List.of(service)), Duration.ofSeconds(30));
      binding.addToCoordinatedShutdown(Duration.ofSeconds(5), system);
      System.out.printf("Containerz up on %s (runtime %s), data dir %s%n", binding.localAddress(), settings.runtime().kind(),
          settings.root().toAbsolutePath());
    } catch (Exception e) {
      System.err.printf("dpuctl containerz: cannot start on %s:%d (data dir %s): %s%n", bindHost, bindPort, dir.toAbsolutePath(),
          Systems.rootMessage(e));
      system.terminate();
      return ExitCodes.STARTUP_FAILED;
    }
    system.getWhenTerminated().toCompletableFuture().join();
    return ExitCodes.OK;
  }
}
