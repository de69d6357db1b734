package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.common.tls.ClientTls;
import io.github.dpucoordinator.common.tls.TlsLab;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.offloader.OffloaderSettings;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped production configs (deploy/npu.conf, deploy/dpu.conf) as an operator installs them, with only their
 * placeholders (midplane addresses, ports) and paths (/etc, /var) replaced by loopback and temporary ones: both parse with
 * no unknown key, and an NPU and two DPU agents started from them run a campaign over mutual TLS.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class DeployConfigTest {

  static Config load(Path file, Path pki, Path state, List<String[]> replacements) throws Exception {
    String text = Files.readString(file).replace("/etc/dpu-coordinator/pki", pki.toString()).replace("/var/lib/dpu-coordinator", state.toString())
        .replace("/var/run/", state.resolve("run").toString() + "/");
    for (String[] r : replacements) {
      assertTrue(text.contains(r[0]), file + " has " + r[0]);
      text = text.replace(r[0], r[1]);
    }
    return AppConfig.checked(ConfigFactory.load(ConfigFactory.parseString(text)));
  }

  @Test
  void theProductionConfigsRunACampaignOverMutualTlsOnLoopback(@TempDir Path dir) throws Exception {
    Path pki = Files.createDirectories(dir.resolve("pki"));
    TlsLab lab = new TlsLab(pki);
    for (String n : List.of("npu", "DPU0", "DPU1", "admin")) {
      lab.issue(n);
    }
    int dpuApi = Harness.freePort();
    List<ActorTestKit> kits = new ArrayList<>();
    List<Integer> ports = new ArrayList<>();
    ActorSystem<Void> npuSystem = null;
    try {
      for (int i = 0; i < 2; i++) {
        int port = Harness.freePort();
        Config c = load(Path.of("deploy/dpu.conf"), pki, dir.resolve("dpu" + i), List.of(new String[] {"DPU0", "DPU" + i},
            new String[] {"169.254.200.254:50101", "127.0.0.1:" + dpuApi}, new String[] {"host = \"169.254.200.1\"", "host = \"127.0.0.1\""},
            new String[] {"port = 8080", "port = " + port}));
        OffloaderSettings.of(c); // the offloader's part is valid too
        ActorTestKit kit = ActorTestKit.create("deploy-dpu" + i, AppConfig.with(c, "dpu-coordinator.agent.restart-after", "300ms"));
        kits.add(kit);
        AgentServer.start(kit.system(), AgentSettings.create(kit.system().settings().config()), kit.system().settings().config())
            .toCompletableFuture().get(30, TimeUnit.SECONDS);
        ports.add(port);
      }
      Config npu = load(Path.of("deploy/npu.conf"), pki, dir.resolve("npu"), List.of(
          new String[] {"host = \"169.254.200.1\", port = 8080", "host = \"127.0.0.1\", port = " + ports.get(0)},
          new String[] {"host = \"169.254.200.2\", port = 8080", "host = \"127.0.0.1\", port = " + ports.get(1)},
          new String[] {"host = \"169.254.200.254\"", "host = \"127.0.0.1\", port = " + dpuApi},
          new String[] {"runtime = docker", "runtime = process"}));
      npu = AppConfig.with(npu, "dpu-coordinator.npu.admin.port", 0);
      npuSystem = ActorSystem.create(Behaviors.empty(), "deploy-npu", npu);
      NpuService.Running running = NpuService.start(npuSystem, NpuSettings.create(npu)).toCompletableFuture().get(60, TimeUnit.SECONDS);
      ClientTls admin = ClientTls.from(npu.getConfig("dpu-coordinator.cli.tls"), "dpu-coordinator.cli.tls", npu.getConfig("dpu-coordinator.tls"));
      NpuAdminClient client = NpuAdminClient.create(admin.apply(GrpcClientSettings.connectToServiceAt("127.0.0.1", running.adminPort(), npuSystem)
          .withDeadline(Duration.ofSeconds(10)), "127.0.0.1"), npuSystem);
      assertTrue(client.startCampaign(StartCampaignRequest.newBuilder().setReason("deploy configs").build()).toCompletableFuture()
          .get(10, TimeUnit.SECONDS).getAccepted());
      JsonNode done = kits.get(0).createTestProbe().awaitAssert(Duration.ofSeconds(90), Duration.ofMillis(200), () -> {
        JsonNode s = Json.read(client.status(StatusRequest.getDefaultInstance()).toCompletableFuture().get(10, TimeUnit.SECONDS).getJson());
        assertEquals("success", s.path("lastCampaign").path("outcome").asText(), s.toString());
        return s;
      });
      assertTrue(done.path("lastCampaign").path("reboot").asText().startsWith("dry run"), "the production config stays a dry run: " + done);
      assertTrue(Files.exists(dir.resolve("npu").resolve("npu")), "the journal is on the state directory");
    } finally {
      if (npuSystem != null) {
        npuSystem.terminate();
      }
      kits.forEach(ActorTestKit::shutdownTestKit);
    }
  }
}
