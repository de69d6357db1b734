package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C on `dpuctl reboot --wait` stops only the watching: it says so, names the campaign that goes on,
 * and the campaign does go on in the service.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InterruptedWatchTest {
  private final ActorTestKit kit = ActorTestKit.create("interrupted", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void ctrlCOnRebootWaitSaysTheCampaignGoesOn(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> dpus = Harness.startAgents(kit.system(), "I", 1, 20_000); // a long shutdown: the campaign outlives the watch
    Config config = Harness.npuConfig(dir);
    ActorSystem<Void> npuSystem = ActorSystem.create(Behaviors.empty(), "npu-interrupted", config);
    try {
      NpuService.Running npu = NpuService.start(npuSystem, NpuSettings.create(config).withDpus(Harness.endpoints(dpus)))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      Path out = dir.resolve("out.txt");
      Path err = dir.resolve("err.txt");
      List<String> cmd = new java.util.ArrayList<>(io.github.dpucoordinator.cli.DpuctlJvm.command());
      cmd.addAll(List.of("reboot", "--wait", "--reason", "interrupt me", "--admin", "127.0.0.1:" + npu.adminPort()));
      Process watch = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      try {
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
          assertTrue(Files.readString(out).contains("ACKNOWLEDGED"), "watching: " + Harness.read(out) + Harness.read(err));
          return null;
        });
        new ProcessBuilder("kill", "-INT", String.valueOf(watch.pid())).start().waitFor(10, TimeUnit.SECONDS); // Ctrl-C
        assertTrue(watch.waitFor(20, TimeUnit.SECONDS), "the watch ends on Ctrl-C");
      } finally {
        watch.destroyForcibly();
      }
      String said = Harness.read(err);
      NpuAdminClient admin = Harness.admin(kit.system(), npu.adminPort());
      JsonNode status = Harness.status(admin);
      String id = status.path("lastCampaign").path("id").asText();
      assertTrue(said.contains("dpuctl reboot: stopped watching; campaign " + id + " goes on in the NPU service"), said);
      assertFalse(said.contains("cannot reach") || said.contains("Channel shutdown"), said);
      assertTrue(status.path("lastCampaign").path("inFlight").asBoolean(), "the campaign goes on: " + status);
    } finally {
      npuSystem.terminate();
      npuSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
