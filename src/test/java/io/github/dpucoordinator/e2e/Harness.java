package io.github.dpucoordinator.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.machine.AgentSnapshot;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.grpc.GrpcClientSettings;

/** Real agents on loopback, NPU configs on a temp journal, and an admin client. */
final class Harness {
  private Harness() {}

  static List<AgentServer.Running> startAgents(ActorSystem<?> system, String prefix, int n, long shutdownMs) throws Exception {
    return startAgents(system, prefix, n, shutdownMs, Optional.of(Duration.ZERO));
  }

  /** {@code restartAfter} empty: a halted agent stays down until power-cycled. */
  static List<AgentServer.Running> startAgents(ActorSystem<?> system, String prefix, int n, long shutdownMs, Optional<Duration> restartAfter)
      throws Exception {
    List<AgentServer.Running> agents = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      AgentSettings s = AgentSettings.create(AppConfig.load()).withId(prefix + i).withPort(0)
          .withSteps(List.of(StepSpec.simulated("work", Duration.ofMillis(shutdownMs)))).withRestartAfter(restartAfter);
      agents.add(AgentServer.start(system, s).toCompletableFuture().get(30, TimeUnit.SECONDS));
    }
    return agents;
  }

  static List<DpuEndpoint> endpoints(List<AgentServer.Running> agents) {
    return agents.stream().map(a -> new DpuEndpoint(a.dpuId(), "127.0.0.1", a.port())).toList();
  }

  /** An NPU config on the given journal, admin API on an ephemeral loopback port, quick deadlines. */
  static Config npuConfig(Path dataDir) {
    Config c = AppConfig.withDataDir(AppConfig.load(), dataDir);
    c = AppConfig.with(c, "dpu-coordinator.npu.admin.port", 0);
    c = AppConfig.with(c, "dpu-coordinator.npu.ack-deadline", "30s");
    c = AppConfig.with(c, "dpu-coordinator.npu.halt-timeout", "15s");
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.max-attempts", 3);
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.rpc-timeout", "2s");
    c = AppConfig.with(c, "dpu-coordinator.npu.state-wait", "2s");
    c = AppConfig.with(c, "dpu-coordinator.npu.watch-retry", "200ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.backoff-min", "100ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.reboot.return-after", "0ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.dpu-api.port", 0);
    c = AppConfig.with(c, "dpu-coordinator.npu.watch.enabled", false);
    return AppConfig.with(c, "dpu-coordinator.npu.boot-wait", "10s");
  }

  static NpuAdminClient admin(ActorSystem<?> system, int port) {
    return NpuAdminClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", port, system)
        .withTls(false).withDeadline(Duration.ofSeconds(10)), system);
  }

  static JsonNode status(NpuAdminClient admin) throws Exception {
    return Json.read(admin.status(StatusRequest.getDefaultInstance()).toCompletableFuture().get(10, TimeUnit.SECONDS).getJson());
  }

  /**
   * The status once {@code ok} holds (within {@code max}, asked every 100 ms); a failure shows the last status and
   * {@code context} (e.g. the service's output).
   */
  static JsonNode awaitStatus(TestProbe<?> probe, NpuAdminClient admin, Duration max, java.util.function.Predicate<JsonNode> ok,
      java.util.function.Supplier<String> context) {
    return probe.awaitAssert(max, Duration.ofMillis(100), () -> {
      JsonNode s;
      try {
        s = status(admin);
      } catch (Exception e) {
        throw new AssertionError("no status: " + e.getMessage() + "\n" + context.get(), e);
      }
      org.junit.jupiter.api.Assertions.assertTrue(ok.test(s), () -> "not yet: " + s + "\n" + context.get());
      return s;
    });
  }

  static AgentSnapshot agentState(ActorSystem<?> system, AgentServer.Running agent) throws Exception {
    return AskPattern.<DpuAgent.Command, AgentSnapshot>ask(agent.agent(),
        r -> new DpuAgent.GetState(-1, Duration.ZERO, r), Duration.ofSeconds(5), system.scheduler())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A service's output so far, for a failure message. */
  static String read(Path p) {
    try {
      return java.nio.file.Files.readString(p);
    } catch (Exception e) {
      return "(unreadable: " + e + ")";
    }
  }

  static int freePort() throws IOException {
    return io.github.dpucoordinator.common.Ports.freeLoopbackPort();
  }
}
