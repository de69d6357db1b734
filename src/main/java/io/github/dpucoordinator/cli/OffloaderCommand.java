package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.offloader.OffloaderDaemon;
import io.github.dpucoordinator.offloader.OffloaderSettings;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `dpuctl offloader`: the DPU offloader daemon, until it is stopped (what it was doing is journaled). */
@Command(name = "offloader", mixinStandardHelpOptions = true,
    description = {"Run the DPU offloader: keeps this DPU's offloaded containers running on the NPU, at the DPU's version.",
        "`offloadctl` speaks to it."}, footer = ExitCodes.HELP)
final class OffloaderCommand implements Callable<Integer> {
  @Option(names = "--data-dir", paramLabel = "DIR", description = "Its journal (default: dpu-coordinator.offloader.data-dir).")
  Path dataDir;

  @Option(names = "--npu", paramLabel = "HOST:PORT", description = "The NPU's Containerz (default: dpu-coordinator.offloader.npu-address).")
  String npu;

  @Option(names = "--dpu", paramLabel = "ID", description = "This DPU's id (default: dpu-coordinator.offloader.dpu-id).")
  String dpu;

  @Option(names = "--api-port", paramLabel = "P", description = "Port of the local API (default: dpu-coordinator.offloader.api-port; 0: any).")
  Integer apiPort;

  @Override
  public Integer call() {
    String k = OffloaderSettings.KEY;
    OffloaderDaemon daemon;
    try {
      Config config = AppConfig.load();
      if (dataDir != null) {
        config = AppConfig.with(config, k + ".data-dir", dataDir.toString());
      }
      if (npu != null) {
        config = AppConfig.with(config, k + ".npu-address", npu);
      }
      if (dpu != null) {
        config = AppConfig.with(config, k + ".dpu-id", dpu);
      }
      if (apiPort != null) {
        config = AppConfig.with(config, k + ".api-port", apiPort);
      }
      daemon = OffloaderDaemon.start(config);
    } catch (Exception e) {
      System.err.println("dpuctl offloader: cannot start: " + Systems.rootMessage(e));
      return ExitCodes.STARTUP_FAILED;
    }
    OffloaderSettings s = daemon.settings();
    System.out.printf("offloader up: DPU %s, NPU Containerz %s, data dir %s, API on %s:%d%n", s.dpuId(), s.npuAddress(),
        s.dataDir().toAbsolutePath(), s.apiHost(), daemon.apiPort());
    io.github.dpucoordinator.common.SystemdNotify.ready("offloader up for " + s.dpuId() + ", API on port " + daemon.apiPort());
    org.apache.pekko.actor.CoordinatedShutdown.get(daemon.system()).addJvmShutdownHook(() -> System.err.println(
        "dpuctl offloader: stopping; the offloaded containers keep running on the NPU, and an upgrade in flight is finished at the next start"));
    daemon.system().getWhenTerminated().toCompletableFuture().join();
    return ExitCodes.OK;
  }
}
