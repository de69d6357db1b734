package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.DataDir;
import io.github.dpucoordinator.common.JournalLock;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorSystem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "npu", mixinStandardHelpOptions = true,
    description = {"Run the NPU service: the event-sourced coordinator and its local admin API.",
        "A service restarted on the same data dir resumes the campaign it was in."},
    footer = ExitCodes.HELP)
final class NpuCommand implements Callable<Integer> {

  @Option(names = "--dpu", paramLabel = "ID=HOST:PORT[/PROTOCOL]",
      description = "A DPU to coordinate, in addition to the configured ones; PROTOCOL is gnoi (default) or reboot-service; repeatable.")
  List<String> dpus = new ArrayList<>();

  @Option(names = "--data-dir", paramLabel = "DIR", description = "Journal directory (default: dpu-coordinator.npu.data-dir).")
  Path dataDir;

  @Option(names = "--admin-port", paramLabel = "P", description = "Admin API port (default: dpu-coordinator.npu.admin.port).")
  Integer adminPort;

  @Option(names = "--reboot-cmd", paramLabel = "CMD", description = "The NPU's reboot action (sh -c). Default: dry run.")
  String rebootCommand;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Options.require(spec, adminPort == null || (adminPort >= 0 && adminPort <= 65535),
        "--admin-port " + adminPort + " is out of range 0-65535 (0: any free port)");
    Options.parse(spec, () -> dpus.stream().map(DpuEndpoint::parse).toList());
    Config config = AppConfig.load();
    NpuSettings settings;
    try {
      if (dataDir != null) {
        config = AppConfig.withDataDir(config, dataDir);
      }
      if (adminPort != null) {
        config = AppConfig.with(config, "dpu-coordinator.npu.admin.port", adminPort);
      }
      if (rebootCommand != null) {
        config = AppConfig.with(config, "dpu-coordinator.npu.reboot.command", rebootCommand);
      }
      NpuSettings configured = NpuSettings.create(config);
      List<DpuEndpoint> extra = dpus.stream().map(d -> DpuEndpoint.parse(d, configured.defaultProtocol())).toList();
      settings = configured.withDpus(extra);
      DataDir.prepare(settings.dataDir());
    } catch (Exception e) {
      System.err.println("dpuctl npu: " + Systems.rootMessage(e));
      return ExitCodes.STARTUP_FAILED;
    }
    // The journal is checked (nobody else holds it, its tables are there, it names no class this build cannot read) on a
    // thread of its own while the actor system starts; the service starts once it is.
    CompletableFuture<Void> journal = checkJournal(config);
    CompletableFuture<NpuService.Running> started = new CompletableFuture<>();
    ActorSystem<Void> system = Systems.create(NpuService.guardian(settings, journal, started), "npu", config);
    try {
      NpuService.Running running = Systems.await(started, Duration.ofSeconds(60));
      System.out.printf("NPU service up: %d DPU(s), data dir %s, admin API on %s:%d%n", settings.dpus().size(),
          settings.dataDir().toAbsolutePath(), settings.adminHost(), running.adminPort());
      io.github.dpucoordinator.common.SystemdNotify.ready("NPU service up: " + settings.dpus().size() + " DPU(s), admin API on port "
          + running.adminPort());
      org.apache.pekko.actor.CoordinatedShutdown.get(system).addJvmShutdownHook(() -> System.err.println(
          "dpuctl npu: stopping; a campaign in flight is journaled and resumes on the next start on this data dir"));
    } catch (Exception e) {
      System.err.printf("dpuctl npu: cannot start (data dir %s, admin %s:%d): %s%n", settings.dataDir().toAbsolutePath(),
          settings.adminHost(), settings.adminPort(), Systems.rootMessage(e));
      system.terminate();
      return ExitCodes.STARTUP_FAILED;
    }
    system.getWhenTerminated().toCompletableFuture().join();
    return ExitCodes.OK;
  }

  private static CompletableFuture<Void> checkJournal(Config config) {
    CompletableFuture<Void> journal = new CompletableFuture<>();
    Thread checking = new Thread(() -> {
      try {
        JournalLock.check(config);
        io.github.dpucoordinator.common.JournalSchema.prepare(config);
        journal.complete(null);
      } catch (Throwable e) { // an Error too (a driver that cannot load): the start fails with it instead of waiting
        journal.completeExceptionally(e);
      }
    }, "journal-check");
    checking.setDaemon(true);
    checking.start();
    return journal;
  }
}
