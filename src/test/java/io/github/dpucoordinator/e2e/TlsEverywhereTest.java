package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.cli.CliRunner;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.ContainerzUpload;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.common.tls.ClientTls;
import io.github.dpucoordinator.common.tls.TlsLab;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlClient;
import io.github.dpucoordinator.proto.agentctl.RequestRebootRequest;
import io.github.dpucoordinator.proto.notice.DpuRebootNotice;
import io.github.dpucoordinator.proto.notice.DpuRebootNoticesClient;
import io.github.dpucoordinator.sim.ImageTarballs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The production shape with loopback addresses: every endpoint mutual TLS, certificates from one lab CA. A campaign, a
 * module transition (through dpuctl with --tls-*), a DPU-initiated reboot the NPU postpones once (the NPU's identity
 * taken from its certificate) and a Containerz deploy all complete; a viewer cannot act, a caller without a certificate
 * is UNAUTHENTICATED, and a DPU cannot announce another DPU's reboot.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class TlsEverywhereTest {
  static final String CLIENT = "dpu-coordinator.cli.tls";

  @Test
  void aCampaignATransitionANegotiatedRebootAndADeployAllOverMutualTls(@TempDir Path dir) throws Exception {
    TlsLab lab = new TlsLab(dir.resolve("pki").toFile().mkdirs() ? dir.resolve("pki") : dir.resolve("pki"));
    for (String n : List.of("npu", "DPU0", "DPU1", "admin", "viewer", "operator")) {
      lab.issue(n);
    }
    int dpuApi = Harness.freePort();
    List<ActorTestKit> kits = new ArrayList<>();
    List<AgentServer.Running> agents = new ArrayList<>();
    Path marker = dir.resolve("asked-once");
    Config npuConfig = Harness.npuConfig(dir.resolve("data"));
    npuConfig = lab.server(npuConfig, "dpu-coordinator.npu.admin.tls", "mtls", "npu");
    npuConfig = AppConfig.with(npuConfig, "dpu-coordinator.npu.admin.tls.viewers", List.of("viewer"));
    npuConfig = AppConfig.with(npuConfig, "dpu-coordinator.npu.admin.tls.operators", List.of("admin"));
    npuConfig = lab.server(npuConfig, "dpu-coordinator.npu.dpu-api.tls", "mtls", "npu");
    npuConfig = AppConfig.with(npuConfig, "dpu-coordinator.npu.dpu-api.port", dpuApi);
    npuConfig = lab.client(npuConfig, "dpu-coordinator.npu.dpu-tls", "npu");
    npuConfig = AppConfig.with(npuConfig, "dpu-coordinator.npu.gnoi.status-poll-interval", "100ms");
    npuConfig = npuConfig.withValue("dpu-coordinator.npu.dpu-reboot.hooks", com.typesafe.config.ConfigFactory.parseString(
        "h = [{ name = once, command = \"test -f '" + marker + "' || { touch '" + marker + "'; echo not yet; exit 75; }\", timeout = 5s }]")
        .getValue("h"));
    npuConfig = AppConfig.with(npuConfig, "dpu-coordinator.npu.dpu-reboot.postpone-for", "1s");
    ActorSystem<Void> npuSystem = null;
    try {
      for (String id : List.of("DPU0", "DPU1")) {
        Config a = lab.server(AppConfig.load(), "dpu-coordinator.agent.tls", "mtls", id);
        a = AppConfig.with(a, "dpu-coordinator.agent.tls.allowed-clients", List.of("npu", "operator"));
        a = lab.client(a, "dpu-coordinator.agent.npu-tls", id);
        ActorTestKit kit = ActorTestKit.create("tls-" + id, a);
        kits.add(kit);
        AgentSettings s = AgentSettings.create(a).withId(id).withPort(0).withSteps(List.of(StepSpec.simulated("work", Duration.ofMillis(100))))
            .withRestartAfter(Optional.of(Duration.ofMillis(300))).withSimulatedRebootTime(Duration.ofMillis(300));
        s = s.withNotice(s.notice().withNpuAddress("127.0.0.1:" + dpuApi));
        agents.add(AgentServer.start(kit.system(), s, a).toCompletableFuture().get(30, TimeUnit.SECONDS));
      }
      npuSystem = ActorSystem.create(Behaviors.empty(), "npu-tls", npuConfig);
      NpuService.Running npu = NpuService.start(npuSystem, NpuSettings.create(npuConfig).withDpus(List.of(
          new DpuEndpoint("DPU0", "127.0.0.1", agents.get(0).port(), DpuEndpoint.GNOI),
          new DpuEndpoint("DPU1", "127.0.0.1", agents.get(1).port(), DpuEndpoint.REBOOT_SERVICE)))).toCompletableFuture().get(30, TimeUnit.SECONDS);
      ActorSystem<Void> sys = npuSystem;

      // roles on the admin API
      NpuAdminClient viewer = admin(sys, lab, npu.adminPort(), "viewer");
      assertTrue(viewer.status(StatusRequest.getDefaultInstance()).toCompletableFuture().get(10, TimeUnit.SECONDS).getJson().contains("phase"));
      assertEquals(Status.Code.PERMISSION_DENIED, code(() -> viewer.startCampaign(StartCampaignRequest.newBuilder().setReason("no").build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS)));
      assertEquals(Status.Code.UNAUTHENTICATED, code(() -> admin(sys, lab, npu.adminPort(), null).status(StatusRequest.getDefaultInstance())
          .toCompletableFuture().get(10, TimeUnit.SECONDS)));

      // a campaign over TLS to both DPUs (gNOI and RebootService)
      NpuAdminClient admin = admin(sys, lab, npu.adminPort(), "admin");
      assertTrue(admin.startCampaign(StartCampaignRequest.newBuilder().setReason("tls everywhere").build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS).getAccepted());
      JsonNode done = await(kits.get(0), admin, Duration.ofSeconds(60), s -> s.path("lastCampaign").path("outcome").asText().equals("success"));
      assertEquals(2, done.path("lastCampaign").path("dpus").size(), done.toString());
      assertEquals("mtls", done.path("tls").get(0).path("mode").asText(), done.path("tls").toString());
      assertEquals("tls", done.path("tls").get(2).path("mode").asText(), done.path("tls").toString());
      assertEquals("to DPU0", done.path("tls").get(2).path("endpoint").asText(), done.path("tls").toString());
      CliRunner.Run text = CliRunner.dpuctl("status", "--admin", "127.0.0.1:" + npu.adminPort(), "--tls-ca", lab.caFile().toString(),
          "--tls-cert", lab.cert("viewer").toString(), "--tls-key", lab.key("viewer").toString());
      assertEquals(0, text.exit(), text.err());
      assertTrue(text.out().contains("TLS:") && text.out().contains("mtls, certificate CN=npu"), text.out());

      // a module transition through dpuctl over mutual TLS; a viewer's is refused (exit 3)
      String address = "127.0.0.1:" + npu.adminPort();
      CliRunner.Run refused = CliRunner.dpuctl("chassis", "module", "shutdown", "DPU1", "--admin", address, "--tls-ca", lab.caFile().toString(),
          "--tls-cert", lab.cert("viewer").toString(), "--tls-key", lab.key("viewer").toString());
      assertEquals(3, refused.exit(), refused.out() + refused.err());
      assertTrue(refused.err().contains("PERMISSION_DENIED"), refused.err());
      CliRunner.Run down = CliRunner.dpuctl("chassis", "module", "shutdown", "DPU1", "--wait", "--admin", address, "--tls-ca", lab.caFile().toString(),
          "--tls-cert", lab.cert("admin").toString(), "--tls-key", lab.key("admin").toString());
      assertEquals(0, down.exit(), down.out() + down.err());
      assertTrue(down.out().contains("DPU1: ok: shutdown"), down.out());

      // a DPU-initiated reboot, asked for by an operator's certificate, postponed once by the NPU (its identity from its certificate)
      DpuAgentControlClient control = DpuAgentControlClient.create(ClientTls.from(lab.client(npuConfig, CLIENT, "operator").getConfig(CLIENT),
          CLIENT, npuConfig.getConfig("dpu-coordinator.tls")).apply(GrpcClientSettings.connectToServiceAt("127.0.0.1", agents.get(0).port(),
          kits.get(0).system()), "127.0.0.1"), kits.get(0).system());
      assertTrue(control.requestReboot(RequestRebootRequest.newBuilder().setReason("kernel upgrade").setDeadlineMs(120_000).build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS).getAccepted());
      JsonNode rebooted = await(kits.get(0), admin, Duration.ofSeconds(60), s -> s.path("history").path("DPU0").size() > 1);
      JsonNode entry = rebooted.path("history").path("DPU0").get(1);
      assertEquals("planned dpu-reboot (DPU-initiated)", entry.path("cause").asText(), entry.toString());
      assertTrue(java.nio.file.Files.exists(marker), "the NPU's hook postponed it once");

      // a DPU speaks only for itself on the DPU API
      DpuRebootNoticesClient dpu1 = DpuRebootNoticesClient.create(clientOf(lab, npuConfig, "DPU1").apply(GrpcClientSettings.connectToServiceAt(
          "127.0.0.1", dpuApi, sys), "127.0.0.1"), sys);
      assertEquals(Status.Code.PERMISSION_DENIED, code(() -> dpu1.notifyReboot(DpuRebootNotice.newBuilder().setDpuId("DPU0").setNoticeId("n-x")
          .setReason("not mine").setRound(1).build()).toCompletableFuture().get(10, TimeUnit.SECONDS)));

      // Containerz on the DPU API, deployed with DPU0's certificate
      Path image = ImageTarballs.scriptImage(dir.resolve("tiny.tar"), "tiny", "1.0", "sleep 30");
      var containerz = io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient.create(clientOf(lab, npuConfig, "DPU0")
          .apply(GrpcClientSettings.connectToServiceAt("127.0.0.1", dpuApi, sys), "127.0.0.1"), sys);
      assertEquals("tiny", ContainerzUpload.deploy(containerz, sys, image, "tiny", "1.0", b -> { }).toCompletableFuture()
          .get(60, TimeUnit.SECONDS).getName());
      // ... and a DPU manages only its own containers
      var other = io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient.create(clientOf(lab, npuConfig, "DPU1")
          .apply(GrpcClientSettings.connectToServiceAt("127.0.0.1", dpuApi, sys), "127.0.0.1"), sys);
      var start = io.github.dpucoordinator.proto.gnoi.containerz.StartContainerRequest.newBuilder().setImageName("tiny").setTag("1.0")
          .setInstanceName("t0").build();
      assertEquals("t0", containerz.startContainer(start).toCompletableFuture().get(30, TimeUnit.SECONDS).getStartOk().getInstanceName());
      assertEquals(Status.Code.PERMISSION_DENIED, code(() -> other.stopContainer(io.github.dpucoordinator.proto.gnoi.containerz.StopContainerRequest
          .newBuilder().setInstanceName("t0").setForce(true).build()).toCompletableFuture().get(10, TimeUnit.SECONDS)));
      assertEquals(Status.Code.PERMISSION_DENIED, code(() -> other.startContainer(start.toBuilder().setInstanceName("t1").putLabels("dpu", "DPU0")
          .build()).toCompletableFuture().get(10, TimeUnit.SECONDS)));
      var listed = io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest.newBuilder().setAll(true).build();
      assertEquals(0, other.listContainer(listed).runWith(org.apache.pekko.stream.javadsl.Sink.seq(), sys).toCompletableFuture()
          .get(10, TimeUnit.SECONDS).size(), "DPU1 sees none of DPU0's containers");
      var mine = containerz.listContainer(listed).runWith(org.apache.pekko.stream.javadsl.Sink.seq(), sys).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals("DPU0", mine.get(0).getLabelsMap().get("dpu"), mine.toString());
      // dpuctl containerz over mutual TLS: DPU0's certificate lists its container, DPU1's cannot stop it (exit 3 is a refusal)
      CliRunner.Run ls = CliRunner.dpuctl("containerz", "container", "list", "--all", "--address", "127.0.0.1:" + dpuApi, "--tls-ca",
          lab.caFile().toString(), "--tls-cert", lab.cert("DPU0").toString(), "--tls-key", lab.key("DPU0").toString());
      assertEquals(0, ls.exit(), ls.out() + ls.err());
      assertTrue(ls.out().contains("t0") && ls.out().contains("DPU0"), ls.out());
      CliRunner.Run stop = CliRunner.dpuctl("containerz", "container", "stop", "--instance", "t0", "--address", "127.0.0.1:" + dpuApi,
          "--tls-ca", lab.caFile().toString(), "--tls-cert", lab.cert("DPU1").toString(), "--tls-key", lab.key("DPU1").toString());
      assertTrue(stop.exit() != 0 && stop.err().contains("PERMISSION_DENIED"), stop.exit() + " " + stop.out() + stop.err());
      containerz.stopContainer(io.github.dpucoordinator.proto.gnoi.containerz.StopContainerRequest.newBuilder().setInstanceName("t0")
          .setForce(true).build()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      if (npuSystem != null) {
        npuSystem.terminate();
      }
      kits.forEach(ActorTestKit::shutdownTestKit);
    }
  }

  private static ClientTls clientOf(TlsLab lab, Config base, String name) {
    return ClientTls.from(lab.client(base, CLIENT, name).getConfig(CLIENT), CLIENT, base.getConfig("dpu-coordinator.tls"));
  }

  private static NpuAdminClient admin(ActorSystem<?> system, TlsLab lab, int port, String name) {
    Config base = system.settings().config();
    return NpuAdminClient.create(clientOf(lab, base, name).apply(GrpcClientSettings.connectToServiceAt("127.0.0.1", port, system)
        .withDeadline(Duration.ofSeconds(10)), "127.0.0.1"), system);
  }

  private static JsonNode await(ActorTestKit kit, NpuAdminClient admin, Duration max, Predicate<JsonNode> ok) {
    return kit.createTestProbe().awaitAssert(max, Duration.ofMillis(100), () -> {
      JsonNode s = Json.read(admin.status(StatusRequest.getDefaultInstance()).toCompletableFuture().get(10, TimeUnit.SECONDS).getJson());
      assertTrue(ok.test(s), () -> "not yet: " + s);
      return s;
    });
  }

  interface Call {
    Object run() throws Exception;
  }

  private static Status.Code code(Call call) {
    ExecutionException e = assertThrows(ExecutionException.class, call::run);
    assertTrue(e.getCause() instanceof StatusRuntimeException, String.valueOf(e.getCause()));
    return ((StatusRuntimeException) e.getCause()).getStatus().getCode();
  }
}
