package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.StepSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Eight agents in this JVM. A shutdown blocks while the gate file exists, so a campaign can be
 * held in WaitForAcknowledgments for the SIGKILL.
 */
final class BenchAgents implements AutoCloseable {
  final ActorSystem<Void> system;
  final List<AgentServer.Running> running = new ArrayList<>();
  final Path gate;

  BenchAgents(int n) throws Exception {
    Config config = AppConfig.load();
    system = Systems.create("bench-agents", config);
    gate = Files.createTempDirectory("dpuctl-gate-").resolve("hold");
    StepSpec step = StepSpec.command("hold-while-gated", "while [ -e '" + gate + "' ]; do sleep 0.05; done", Duration.ofSeconds(120));
    for (int i = 0; i < n; i++) {
      AgentSettings s = AgentSettings.create(config).withId("B" + i).withPort(0).withSteps(List.of(step))
          .withRestartAfter(Optional.of(Duration.ZERO));
      running.add(AgentServer.start(system, s).toCompletableFuture().get(30, TimeUnit.SECONDS));
    }
  }

  List<Long> shutdownRuns() {
    List<Long> runs = new ArrayList<>();
    for (AgentServer.Running r : running) {
      try {
        runs.add(org.apache.pekko.actor.typed.javadsl.AskPattern.<io.github.dpucoordinator.agent.machine.DpuAgent.Command,
            io.github.dpucoordinator.agent.machine.AgentSnapshot>ask(r.agent(),
            x -> new io.github.dpucoordinator.agent.machine.DpuAgent.GetState(-1, Duration.ZERO, x), Duration.ofSeconds(5),
            system.scheduler()).toCompletableFuture().get(10, TimeUnit.SECONDS).shutdownRuns());
      } catch (Exception e) {
        runs.add(-1L);
      }
    }
    return runs;
  }

  @Override
  public void close() {
    system.terminate();
    try {
      io.github.dpucoordinator.sim.Simulation.deleteTree(gate.getParent());
    } catch (java.io.IOException e) {
      // a temporary directory left behind
    }
  }
}
