package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.proto.offloader.ContainerRef;
import io.github.dpucoordinator.proto.offloader.ContainerState;
import io.github.dpucoordinator.proto.offloader.DeployProgress;
import io.github.dpucoordinator.proto.offloader.DeployRequest;
import io.github.dpucoordinator.proto.offloader.HistoryEntry;
import io.github.dpucoordinator.proto.offloader.ListReply;
import io.github.dpucoordinator.proto.offloader.ListRequest;
import io.github.dpucoordinator.proto.offloader.OffloaderClient;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `offloadctl` (the launcher runs `dpuctl offloadctl`): the DPU offloader's operator commands, spoken to its daemon's
 * local API, which records what the operator wants so that its health monitor does not fight it.
 */
@Command(name = "offloadctl", mixinStandardHelpOptions = true,
    description = "Manage this DPU's offloaded containers through the offloader daemon (`dpuctl offloader`).",
    subcommands = {OffloadctlCommand.ListCmd.class, OffloadctlCommand.StatusCmd.class, OffloadctlCommand.StartCmd.class,
        OffloadctlCommand.StopCmd.class, OffloadctlCommand.DeployCmd.class, OffloadctlCommand.HistoryCmd.class,
        OffloadctlCommand.RollbackCmd.class}, footer = ExitCodes.HELP)
final class OffloadctlCommand {
  private static final ObjectMapper JSON = new ObjectMapper();

  abstract static class Target {
    @Option(names = "--api", paramLabel = "HOST:PORT", description = "The daemon's local API (default: dpu-coordinator.cli.offloader-address).")
    String api;

    interface Call {
      int run(OffloaderClient client, ActorSystem<Void> system, Duration timeout) throws Exception;
    }

    /** Runs {@code call} against the daemon: 3 for a refusal, 4 when the daemon (or, through it, the NPU) cannot be reached. */
    int run(String command, Call call) {
      Config config = AppConfig.load();
      String target = api != null ? api : config.getString("dpu-coordinator.cli.offloader-address");
      int colon = target.lastIndexOf(':');
      if (colon < 1) {
        System.err.println("offloadctl " + command + ": --api " + target + " is not HOST:PORT");
        return ExitCodes.USAGE;
      }
      ActorSystem<Void> system = Systems.create("offloadctl", Systems.clientConfig(config));
      OffloaderClient client = null;
      try {
        client = OffloaderClient.create(GrpcClientSettings.connectToServiceAt(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)),
            system).withTls(false).withConnectionAttempts(2), system);
        return call.run(client, system, config.getDuration("dpu-coordinator.cli.offloader-timeout"));
      } catch (Exception e) {
        return failed(command, target, e);
      } finally {
        if (client != null) {
          client.close();
        }
        system.terminate();
      }
    }
  }

  static <T> T await(CompletionStage<T> stage, Duration timeout) throws Exception {
    return CallFailures.await(stage, timeout);
  }

  private static int failed(String command, String target, Throwable e) {
    return CallFailures.exit("offloadctl " + command, "cannot reach the offloader daemon at " + target + " (is `dpuctl offloader` running?)",
        true, e);
  }

  static ObjectNode json(ContainerState s) {
    ObjectNode o = JSON.createObjectNode().put("name", s.getName()).put("image", s.getImage()).put("tag", s.getTag())
        .put("previousTag", s.getPreviousTag()).put("versionPolicy", s.getVersionPolicy()).put("npuStatus", s.getNpuStatus())
        .put("npuImage", s.getNpuImage()).put("health", s.getHealth()).put("detail", s.getDetail()).put("phase", s.getPhase())
        .put("operatorStopped", s.getOperatorStopped()).put("restarts", s.getRestarts()).put("healthPort", s.getHealthPort());
    o.put("crashLoopingSince", s.getCrashLoopingSinceMs() == 0 ? null : Instant.ofEpochMilli(s.getCrashLoopingSinceMs()).toString());
    ArrayNode failed = o.putArray("failedVersions");
    s.getFailedVersionsList().forEach(failed::add);
    return o;
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "This DPU's offloaded containers and their state.", footer = ExitCodes.HELP)
  static final class ListCmd extends Target implements Callable<Integer> {
    @Option(names = "--json", description = "One JSON object instead of a table.")
    boolean json;

    @Override
    public Integer call() {
      return run("list", (client, system, timeout) -> {
        ListReply l = await(client.list(ListRequest.getDefaultInstance()), timeout);
        if (json) {
          ObjectNode o = JSON.createObjectNode().put("dpu", l.getDpu()).put("dpuVersion", l.getDpuVersion()).put("paused", l.getPaused())
              .put("npu", l.getNpu());
          ArrayNode all = o.putArray("containers");
          l.getContainersList().forEach(s -> all.add(json(s)));
          ArrayNode failures = o.putArray("journalFailures");
          l.getJournalFailuresList().forEach(failures::add);
          System.out.println(o.toPrettyString());
          return ExitCodes.OK;
        }
        System.out.printf("DPU %s, version %s, NPU Containerz %s%s%n", l.getDpu(), l.getDpuVersion(), l.getNpu(),
            l.getPaused() ? " (monitor paused: the DPU is shutting down)" : "");
        l.getJournalFailuresList().forEach(f -> System.out.println("JOURNAL WRITE FAILING: " + f));
        System.out.printf("%-14s %-24s %-10s %-10s %-14s %-8s %s%n", "NAME", "IMAGE", "TAG", "NPU", "HEALTH", "RESTARTS", "DETAIL");
        for (ContainerState s : l.getContainersList()) {
          System.out.printf("%-14s %-24s %-10s %-10s %-14s %-8d %s%n", s.getName(), s.getImage(), s.getTag(), s.getNpuStatus(), s.getHealth(),
              s.getRestarts(), s.getDetail());
        }
        return ExitCodes.OK;
      });
    }
  }

  abstract static class One extends Target {
    @Parameters(index = "0", paramLabel = "CONTAINER", description = "The offloaded container's name.")
    String name;

    ContainerRef ref() {
      return ContainerRef.newBuilder().setName(name).build();
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true, description = "One offloaded container's health and versions.", footer = ExitCodes.HELP)
  static final class StatusCmd extends One implements Callable<Integer> {
    @Option(names = "--json", description = "One JSON object.")
    boolean json;

    @Override
    public Integer call() {
      return run("status", (client, system, timeout) -> {
        ContainerState s = await(client.status(ref()), timeout);
        if (json) {
          System.out.println(json(s).toPrettyString());
          return ExitCodes.OK;
        }
        System.out.printf("%s: %s%n  image %s:%s (policy %s; previous %s)%n  NPU: %s %s%n  %s%n", s.getName(), s.getHealth(), s.getImage(),
            s.getTag(), s.getVersionPolicy(), s.getPreviousTag().isEmpty() ? "none" : s.getPreviousTag(), s.getNpuStatus(), s.getNpuImage(),
            s.getDetail());
        System.out.printf("  restarts in the window: %d%s%s%s%n", s.getRestarts(), s.getOperatorStopped() ? "; stopped by an operator" : "",
            s.getCrashLoopingSinceMs() > 0 ? "; crash-looping since " + Instant.ofEpochMilli(s.getCrashLoopingSinceMs()) : "",
            s.getFailedVersionsCount() > 0 ? "; failed versions (not retried): " + String.join(", ", s.getFailedVersionsList()) : "");
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "start", mixinStandardHelpOptions = true, description = "Start it (and forget its crash-loop mark and failed versions).",
      footer = ExitCodes.HELP)
  static final class StartCmd extends One implements Callable<Integer> {
    @Override
    public Integer call() {
      return run("start", (client, system, timeout) -> {
        System.out.println(await(client.start(ref()), timeout).getMessage());
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop it; it stays stopped until `offloadctl start`.", footer = ExitCodes.HELP)
  static final class StopCmd extends One implements Callable<Integer> {
    @Override
    public Integer call() {
      return run("stop", (client, system, timeout) -> {
        System.out.println(await(client.stop(ref()), timeout).getMessage());
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "rollback", mixinStandardHelpOptions = true, description = "Back to its previous version (the current one is not tried again).",
      footer = ExitCodes.HELP)
  static final class RollbackCmd extends One implements Callable<Integer> {
    @Override
    public Integer call() {
      return run("rollback", (client, system, timeout) -> {
        System.out.println(await(client.rollback(ref()), timeout).getMessage());
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "history", mixinStandardHelpOptions = true, description = "What happened to it (or to all), oldest first.", footer = ExitCodes.HELP)
  static final class HistoryCmd extends Target implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "CONTAINER", description = "One container (default: all).")
    String name;

    @Option(names = "--json", description = "One JSON array.")
    boolean json;

    @Override
    public Integer call() {
      return run("history", (client, system, timeout) -> {
        List<HistoryEntry> entries = await(client.history(ContainerRef.newBuilder().setName(name == null ? "" : name).build()), timeout)
            .getEntriesList();
        if (json) {
          ArrayNode out = JSON.createArrayNode();
          entries.forEach(e -> out.addObject().put("at", Instant.ofEpochMilli(e.getAtMs()).toString()).put("container", e.getContainer())
              .put("event", e.getEvent()).put("detail", e.getDetail()));
          System.out.println(out.toPrettyString());
        } else {
          entries.forEach(e -> System.out.printf("%s %-12s %-16s %s%n", Instant.ofEpochMilli(e.getAtMs()), e.getContainer(), e.getEvent(),
              e.getDetail()));
        }
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "deploy", mixinStandardHelpOptions = true, footer = ExitCodes.HELP,
      description = {"Deploy an image to the NPU: a `docker save` tarball, or NAME:TAG from the image dir.",
          "With --container, that container runs it (a new one, or an upgrade of the one there, rolled back if it fails)."})
  static final class DeployCmd extends Target implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "TARBALL|NAME:TAG", description = "What to deploy.")
    String source;

    @Option(names = "--image", paramLabel = "NAME:TAG", description = "The tarball's name on the NPU (default: its RepoTags).")
    String image;

    @Option(names = "--container", paramLabel = "NAME", description = "Run it as this offloaded container.")
    String container;

    @Option(names = "--env", paramLabel = "K=V", description = "Environment of a new container (repeatable).")
    List<String> env = new ArrayList<>();

    @Option(names = "--port", paramLabel = "INT[:EXT]", description = "Port of a new container (repeatable).")
    List<String> ports = new ArrayList<>();

    @Option(names = "--health-port", paramLabel = "P", description = "TCP port that answers when a new container is healthy.")
    int healthPort;

    @Override
    public Integer call() {
      Path file = Path.of(source);
      String absolute = java.nio.file.Files.isRegularFile(file) ? file.toAbsolutePath().toString() : source;
      return run("deploy", (client, system, timeout) -> {
        DeployRequest.Builder r = DeployRequest.newBuilder().setSource(absolute).setImage(image == null ? "" : image)
            .setContainer(container == null ? "" : container).addAllEnv(env).addAllPorts(ports).setHealthPort(healthPort);
        long[] shown = {-1};
        List<DeployProgress> all = await(client.deploy(r.build()).map(p -> {
          long tenth = p.getTotal() == 0 ? 10 : p.getBytesSent() * 10 / p.getTotal();
          if (tenth != shown[0] && p.getDone().isEmpty()) {
            shown[0] = tenth;
            System.err.printf("deployed %.1f of %.1f MiB%n", p.getBytesSent() / 1048576.0, p.getTotal() / 1048576.0);
          }
          return p;
        }).runWith(Sink.seq(), system), timeout);
        System.out.println(all.isEmpty() ? "deployed" : all.get(all.size() - 1).getDone());
        return ExitCodes.OK;
      });
    }
  }
}
