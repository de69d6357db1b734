package io.github.dpucoordinator.sim;

import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Ports;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.chassis.Chassis;
import io.github.dpucoordinator.npu.coordinator.StatusView;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.settings.RetrySettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * One JVM, one NPU service and N real DPU agents on loopback ports, one campaign. K DPUs can be
 * unreachable (nothing listens on their port) and S slower than the deadline.
 */
public final class Simulation {

  /** {@code protocol}: how the NPU speaks to the simulated DPUs, gnoi or reboot-service. */
  public record Options(int dpus, long shutdownMs, int unreachable, int slow, long deadlineMs, long bootWaitMs, int campaigns,
      String protocol) {
    public Options {
      if (!protocol.equals(DpuEndpoint.GNOI) && !protocol.equals(DpuEndpoint.REBOOT_SERVICE)) {
        throw new IllegalArgumentException("--protocol must be gnoi or reboot-service");
      }
      if (campaigns < 1) {
        throw new IllegalArgumentException("--campaigns must be at least 1");
      }
      if (dpus < 1) {
        throw new IllegalArgumentException("--dpus must be at least 1");
      }
      if (unreachable < 0 || slow < 0 || unreachable + slow > dpus) {
        throw new IllegalArgumentException("--unreachable and --slow must be >= 0 and together at most --dpus");
      }
      if (shutdownMs < 0 || deadlineMs <= 0 || bootWaitMs <= 0) {
        throw new IllegalArgumentException("--shutdown-ms must be >= 0, --deadline-ms and --boot-wait-ms > 0");
      }
    }

    /** The slow DPUs' shutdown: well past the deadline. */
    long slowShutdownMs() {
      return deadlineMs + Math.max(1000, shutdownMs);
    }
  }

  /**
   * The last campaign's figures; {@code status} is the final status document and {@code wallMillisAll}
   * the wall time of every campaign run, in order (the first one includes the JVM's warm-up).
   */
  public record Result(int dpus, long acked, long completed, long failed, long notReady, String outcome, long wallMillis,
      long shutdownMs, double ratio, String campaignId, StatusView status, List<Long> wallMillisAll, List<Long> untilRebootMillisAll) {}

  private Simulation() {}

  public static Result run(Options o, Consumer<StatusView> onProgress) throws Exception {
    Path dataDir = Files.createTempDirectory("dpuctl-sim-");
    Config config = configFor(o, dataDir);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "simulation", config);
    try {
      List<AgentServer.Running> agents = startAgents(system, config, o);
      List<DpuEndpoint> endpoints = endpoints(agents, o);
      NpuSettings settings = NpuSettings.create(config).withDpus(endpoints);
      HostActions host = new PowerCyclingHost(NpuService.hostActions(system, settings), agents);
      NpuService.Running npu = NpuService.start(system, settings, NpuService.transport(system, settings), host)
          .toCompletableFuture().get(60, TimeUnit.SECONDS);
      // connections open before the clock starts, as a long-running NPU service would have them
      npu.probed().toCompletableFuture().get(60, TimeUnit.SECONDS);
      List<Long> walls = new ArrayList<>();
      List<Long> untilReboot = new ArrayList<>();
      Result last = null;
      for (int i = 0; i < o.campaigns(); i++) {
        last = campaign(system, npu, o, onProgress, walls, untilReboot);
      }
      return last;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      deleteTree(dataDir);
    }
  }

  /** The NPU settings of a simulation: dpu-coordinator.simulate, the options, a dry-run reboot that returns at once. */
  static Config configFor(Options o, Path dataDir) {
    Config base = AppConfig.load();
    Config sim = base.getConfig("dpu-coordinator.simulate");
    Config c = AppConfig.withDataDir(base, dataDir);
    c = AppConfig.with(c, "dpu-coordinator.npu.admin.port", 0);
    // The simulation's own DPU API on an ephemeral port, so it never collides with a service running here.
    c = AppConfig.with(c, "dpu-coordinator.npu.dpu-api.port", 0);
    c = AppConfig.with(c, "dpu-coordinator.npu.dpus-spec", "");
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.rpc-timeout", sim.getString("signal-timeout"));
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.max-attempts", sim.getInt("max-attempts"));
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.backoff-min", sim.getString("backoff-min"));
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.backoff-max", sim.getString("backoff-max"));

    c = AppConfig.with(c, "dpu-coordinator.npu.watch-retry", sim.getString("watch-retry"));
    c = AppConfig.with(c, "dpu-coordinator.npu.state-wait", sim.getString("state-wait"));
    c = AppConfig.with(c, "dpu-coordinator.npu.gnoi.status-poll-interval", sim.getString("gnoi-status-poll-interval"));
    c = AppConfig.with(c, "dpu-coordinator.npu.halt-timeout", o.deadlineMs() + "ms");
    // The campaign deadline holds one DPU's whole budget: its signal attempts, then the halt timeout.
    long signalBudget = RetrySettings.from(c.getConfig("dpu-coordinator.npu.signal")).budget().toMillis();
    c = AppConfig.with(c, "dpu-coordinator.npu.ack-deadline", (signalBudget + o.deadlineMs()) + "ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.reboot.command", "");
    c = AppConfig.with(c, "dpu-coordinator.npu.reboot.return-after", "0ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.boot-wait", o.bootWaitMs() + "ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.pre-reboot-tasks", List.of());
    return AppConfig.with(c, "dpu-coordinator.agent.port", 0);
  }

  /**
   * The simulated DPUs. They wait in WaitForRestart after their shutdown, as real ones do, until the
   * NPU's (dry-run) reboot power-cycles them: see {@link PowerCyclingHost}.
   */
  private static List<AgentServer.Running> startAgents(ActorSystem<Void> system, Config config, Options o) throws Exception {
    AgentSettings base = AgentSettings.create(config).withRestartAfter(Optional.empty());
    int reachable = o.dpus() - o.unreachable();
    List<CompletableFuture<AgentServer.Running>> started = new ArrayList<>();
    for (int i = 0; i < reachable; i++) {
      long shutdown = i >= reachable - o.slow() ? o.slowShutdownMs() : o.shutdownMs();
      AgentSettings s = base.withId("DPU" + i).withPort(0)
          .withSteps(List.of(StepSpec.simulated("simulated-shutdown", Duration.ofMillis(shutdown))));
      started.add(AgentServer.start(system, s).toCompletableFuture());
    }
    List<AgentServer.Running> agents = new ArrayList<>();
    for (CompletableFuture<AgentServer.Running> f : started) {
      agents.add(f.get(60, TimeUnit.SECONDS));
    }
    return agents;
  }

  /** The reachable agents' endpoints, then the unreachable ones (loopback ports nobody listens on). */
  private static List<DpuEndpoint> endpoints(List<AgentServer.Running> agents, Options o) throws IOException {
    List<DpuEndpoint> endpoints = new ArrayList<>();
    agents.forEach(r -> endpoints.add(new DpuEndpoint(r.dpuId(), "127.0.0.1", r.port(), o.protocol())));
    for (int i = agents.size(); i < o.dpus(); i++) {
      endpoints.add(new DpuEndpoint("DPU" + i, "127.0.0.1", Ports.freeLoopbackPort(), o.protocol()));
    }
    return endpoints;
  }

  /** The configured (dry-run) host actions, plus what a real NPU reboot does to its DPUs: a power cycle. */
  private record PowerCyclingHost(HostActions delegate, List<AgentServer.Running> agents) implements HostActions {
    @Override
    public CompletionStage<List<StepResult>> prepare(String campaignId) {
      return delegate.prepare(campaignId);
    }

    @Override
    public CompletionStage<StepResult> reboot(String campaignId, String kind) {
      return delegate.reboot(campaignId, kind).thenApply(result -> {
        agents.forEach(a -> a.agent().tell(DpuAgent.SimulatedPowerCycle.INSTANCE));
        return result;
      });
    }

    @Override
    public String describeReboot() {
      return delegate.describeReboot() + " (simulated DPUs power-cycled)";
    }
  }

  private static Result campaign(ActorSystem<Void> system, NpuService.Running npu, Options o, Consumer<StatusView> onProgress,
      List<Long> walls, List<Long> untilReboot) throws Exception {
    NpuProtocol.StartReply reply = AskPattern.<NpuProtocol.Command, NpuProtocol.StartReply>ask(npu.coordinator(),
        r -> new NpuProtocol.StartCampaign("simulation", CampaignKind.COLD, r), Duration.ofSeconds(10), system.scheduler())
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
    if (!reply.accepted()) {
      throw new IllegalStateException(reply.message());
    }
    long limit = System.nanoTime() + Duration.ofMillis(o.deadlineMs() + o.bootWaitMs()).plusSeconds(60).toNanos();
    while (System.nanoTime() < limit) {
      StatusView v = AskPattern.<NpuProtocol.Command, StatusView>ask(npu.coordinator(), Chassis.GetStatus::new,
          Duration.ofSeconds(10), system.scheduler()).toCompletableFuture().get(15, TimeUnit.SECONDS);
      onProgress.accept(v);
      StatusView.CampaignView c = v.lastCampaign();
      if (c != null && c.id().equals(reply.campaignId()) && !c.inFlight()) {
        walls.add(c.finishedAt() - c.startedAt());
        untilReboot.add(c.rebootAt() - c.startedAt());
        return result(o, c, v, walls, untilReboot);
      }
      Thread.sleep(system.settings().config().getDuration("dpu-coordinator.simulate.progress-interval").toMillis());
    }
    throw new IllegalStateException("campaign " + reply.campaignId() + " did not finish in time");
  }

  private static Result result(Options o, StatusView.CampaignView c, StatusView v, List<Long> walls, List<Long> untilReboot) {
    long acked = c.dpus().stream().filter(d -> !d.ack().isEmpty()).count();
    long failed = c.dpus().stream().filter(d -> d.state().equals("FAILED")).count();
    long notReady = c.dpus().stream().filter(d -> d.state().equals("NOT_READY")).count();
    long completed = c.dpus().size() - failed;
    long wall = c.finishedAt() - c.startedAt();
    double ratio = o.shutdownMs() > 0 ? Math.round(1000.0 * wall / o.shutdownMs()) / 1000.0 : 0;
    return new Result(o.dpus(), acked, completed, failed, notReady, c.outcome(), wall, o.shutdownMs(), ratio, c.id(), v, List.copyOf(walls),
        List.copyOf(untilReboot));
  }

  /** Removes {@code dir} and everything under it. */
  public static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
