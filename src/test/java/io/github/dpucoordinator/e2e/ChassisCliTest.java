package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.cli.CliRunner.Run;
import io.github.dpucoordinator.cli.CliRunner;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** `dpuctl chassis ...` as an operator runs it, against a running NPU service and a real agent. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChassisCliTest {
  private final ActorTestKit kit = ActorTestKit.create("chassis", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void shutdownThenStartupOfOneDpuWithHistoryAndPowerCommandsRunOnce(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "CH", 2, 300); // they restart by themselves
    Path power = dir.resolve("power.log");
    Config config = AppConfig.with(Harness.npuConfig(dir), "dpu-coordinator.npu.gnoi.status-poll-interval", "100ms");
    config = AppConfig.with(config, "dpu-coordinator.npu.module.power-off-command", "echo off {dpu} >> '" + power + "'");
    config = AppConfig.with(config, "dpu-coordinator.npu.module.power-on-command", "echo on {dpu} >> '" + power + "'");
    ActorSystem<Void> npuSystem = ActorSystem.create(Behaviors.empty(), "npu-chassis", config);
    try {
      NpuService.Running npu = NpuService.start(npuSystem, NpuSettings.create(config).withDpus(Harness.endpoints(agents)))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      String admin = "127.0.0.1:" + npu.adminPort();

      Run down = CliRunner.dpuctl("chassis", "module", "shutdown", "CH0", "--reason", "replace fan", "--wait", "--admin", admin);
      assertEquals(0, down.exit(), down.out() + down.err());
      assertTrue(down.out().contains("CH0: ok: shutdown"), down.out());

      Run status = CliRunner.dpuctl("chassis", "modules", "status", "--json", "--admin", admin);
      JsonNode modules = Json.read(status.out().strip());
      assertEquals("down", modules.get(0).path("adminState").asText(), modules.toString());
      assertEquals("up", modules.get(1).path("adminState").asText());

      Run refused = CliRunner.dpuctl("chassis", "module", "shutdown", "NOPE", "--admin", admin);
      assertEquals(3, refused.exit());
      assertTrue(refused.err().contains("unknown DPU 'NOPE'; configured: CH0, CH1"), refused.err());

      Run up = CliRunner.dpuctl("chassis", "module", "startup", "CH0", "--wait", "--admin", admin);
      assertEquals(0, up.exit(), up.out() + up.err());
      Run text = CliRunner.dpuctl("chassis", "modules", "status", "--admin", admin);
      assertTrue(text.out().contains("planned shutdown") && text.out().contains("planned startup"), text.out());
      assertEquals(List.of("off CH0", "on CH0"), Files.readAllLines(power));
    } finally {
      npuSystem.terminate();
      npuSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
