package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.machine.AgentSnapshot;
import io.github.dpucoordinator.agent.machine.AgentState;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.offloader.OffloaderHarness;
import io.github.dpucoordinator.proto.offloader.ContainerRef;
import io.github.dpucoordinator.proto.offloader.HistoryEntry;
import io.github.dpucoordinator.proto.offloader.OffloaderClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The offloader in the DPU agent's JVM ({@code agent.offloader.enabled}): a COLD reboot signal pauses its monitor,
 * stops the DPU's offloaded containers as the last shutdown step, and once the agent is Listening again the
 * initialization sequence starts them; none of it counts as a crash.
 */
class AgentOffloaderTest {
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aDpuRebootStopsItsOffloadedContainersLastAndStartsThemWhenItIsBack(@TempDir Path dir) throws Exception {
    try (OffloaderHarness h = new OffloaderHarness(dir)) {
      h.image("offload/db", "1.0", OffloaderHarness.SERVICE);
      h.dpuVersion("1.0");
      int api = Harness.freePort();
      Config config = h.config(dir.resolve("offloader"), "[{name = db, image = \"offload/db\"}]", Map.of("api-port", api));
      config = AppConfig.with(config, AgentServer.OFFLOADER_ENABLED, true);
      config = AppConfig.with(config, "dpu-coordinator.agent.id", "DPU0");
      config = com.typesafe.config.ConfigFactory.parseString("dpu-coordinator.agent.shutdown-steps = [{name = flush, simulate = 200ms}]")
          .withFallback(config);
      ActorTestKit agentKit = ActorTestKit.create("agent", config);
      try {
        AgentSettings settings = AgentSettings.create(config).withPort(0).withRestartAfter(java.util.Optional.of(Duration.ofSeconds(1)));
        AgentServer.Running agent = AgentServer.start(agentKit.system(), settings).toCompletableFuture().get(60, TimeUnit.SECONDS);
        OffloaderClient c = OffloaderClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", api, h.kit.system()).withTls(false),
            h.kit.system());
        TestProbe<Object> probe = h.kit.createTestProbe();
        probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
          assertEquals("RUNNING offload/db:1.0", onNpu(h, "db"));
          return null;
        });

        // a cold reboot of the DPU: the flush step, then the offloaded containers stopped, then ShutdownComplete
        TestProbe<DpuAgent.SignalOutcome> outcome = agentKit.createTestProbe();
        agent.agent().tell(new DpuAgent.Signal("c-offload", DpuAgent.Method.SIGNAL, "cold", "test", 0, Duration.ZERO, outcome.ref()));
        outcome.receiveMessage(Duration.ofSeconds(10));
        List<String> seen = new ArrayList<>();
        TestProbe<AgentSnapshot> state = agentKit.createTestProbe();
        probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(20), () -> {
          agent.agent().tell(new DpuAgent.GetState(0, Duration.ZERO, state.ref()));
          AgentSnapshot s = state.receiveMessage(Duration.ofSeconds(5));
          seen.add(s.state() + " " + onNpu(h, "db"));
          assertTrue(s.state() == AgentState.SHUTDOWN_COMPLETE || s.state() == AgentState.WAIT_FOR_RESTART, s.state().toString());
          assertEquals(List.of("flush", "stop-offloaded-containers"), s.steps().stream().map(r -> r.name()).toList());
          assertTrue(s.steps().get(1).ok(), s.steps().get(1).detail());
          return null;
        });
        assertTrue(seen.stream().anyMatch(l -> l.endsWith("STOPPED offload/db:1.0")), seen.toString());

        // Listening again (the simulated restart): the initialization sequence starts it
        probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
          assertEquals("RUNNING offload/db:1.0", onNpu(h, "db"));
          assertEquals("healthy", c.status(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(10, TimeUnit.SECONDS)
              .getHealth());
          return null;
        });
        List<String> history = c.history(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(10, TimeUnit.SECONDS)
            .getEntriesList().stream().map(e -> e.getEvent() + ": " + e.getDetail()).toList();
        assertTrue(history.stream().anyMatch(e -> e.startsWith("stopped-for-halt")), history.toString());
        assertTrue(history.stream().anyMatch(e -> e.startsWith("started: 1.0: initialization: it was STOPPED")), history.toString());
        assertTrue(history.stream().noneMatch(e -> e.startsWith("failed") || e.startsWith("restarted")), "a planned stop is no crash: " + history);
        c.stop(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(30, TimeUnit.SECONDS);
        c.close();
      } finally {
        agentKit.shutdownTestKit();
      }
    }
  }

  private static String onNpu(OffloaderHarness h, String name) {
    try {
      return h.onNpu(name);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
