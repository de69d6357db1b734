package io.github.dpucoordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.offloader.OffloaderDaemon;
import io.github.dpucoordinator.offloader.OffloaderHarness;
import io.github.dpucoordinator.proto.gnoi.containerz.Containerz;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzHandlerFactory;
import io.grpc.Status;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** `offloadctl`'s commands against a real daemon and NPU: what they print, what they change, and their exit codes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class OffloadctlTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  static Path dir;
  private OffloaderHarness h;
  private OffloaderDaemon daemon;
  private Path kv1;

  @BeforeAll
  void start() throws Exception {
    h = new OffloaderHarness(dir);
    h.dpuVersion("1.0");
    kv1 = h.image("offload/kv", "1", OffloaderHarness.SERVICE);
    h.image("offload/kv", "2", OffloaderHarness.SERVICE);
    daemon = OffloaderDaemon.start(h.config(dir.resolve("offloader"), "[]", Map.of()));
  }

  @AfterAll
  void stop() {
    if (daemon != null) {
      daemon.close();
    }
    h.close();
  }

  private CliRunner.Run offloadctl(String... args) {
    List<String> all = new ArrayList<>(List.of("offloadctl"));
    all.addAll(List.of(args));
    if (!all.contains("--api")) {
      all.addAll(List.of("--api", "127.0.0.1:" + daemon.apiPort()));
    }
    return CliRunner.dpuctl(all.toArray(String[]::new));
  }

  private JsonNode status(String name) throws Exception {
    CliRunner.Run r = offloadctl("status", name, "--json");
    assertEquals(0, r.exit(), r.err());
    return JSON.readTree(r.out());
  }

  private void await(OffloaderHarness.Check check) {
    h.await(Duration.ofSeconds(60), check);
  }

  @Test
  void operatorCommandsDeployStopStartUpgradeRollBackAndTellTheHistory() throws Exception {
    CliRunner.Run list = offloadctl("list");
    assertEquals(0, list.exit(), list.err());
    assertTrue(list.out().contains("DPU DPU0, version 1.0") && list.out().contains("NAME"), list.out());

    // a tarball deployed as a new container: defined, then started by the version sync
    CliRunner.Run deploy = offloadctl("deploy", kv1.toString(), "--container", "kv");
    assertEquals(0, deploy.exit(), deploy.err());
    assertTrue(deploy.out().contains("offload/kv:1 deployed to the NPU") && deploy.out().contains("container kv defined"), deploy.out());
    assertTrue(deploy.err().contains("deployed"), "progress on stderr: " + deploy.err());
    await(() -> assertEquals("healthy", status("kv").get("health").asText()));
    assertEquals("RUNNING offload/kv:1", h.onNpu("kv"));

    // stop: recorded, so the monitor leaves it stopped; start: running again
    CliRunner.Run stop = offloadctl("stop", "kv");
    assertEquals(0, stop.exit(), stop.err());
    assertTrue(stop.out().contains("stays stopped until `offloadctl start kv`"), stop.out());
    assertEquals("STOPPED offload/kv:1", h.onNpu("kv"));
    assertTrue(status("kv").get("operatorStopped").asBoolean());
    await(() -> assertEquals(List.of("STOPPED", "stopped"), List.of(status("kv").get("npuStatus").asText(), status("kv").get("health").asText())));
    assertEquals(0, offloadctl("start", "kv").exit());
    await(() -> assertEquals("healthy", status("kv").get("health").asText()));

    // NAME:TAG from the image dir for the same container: an upgrade; then an operator's rollback
    CliRunner.Run upgrade = offloadctl("deploy", "offload/kv:2", "--container", "kv");
    assertEquals(0, upgrade.exit(), upgrade.err());
    assertTrue(upgrade.out().contains("kv moves to 2"), upgrade.out());
    await(() -> {
      JsonNode s = status("kv");
      assertEquals(List.of("2", "1", "healthy"), List.of(s.get("tag").asText(), s.get("previousTag").asText(), s.get("health").asText()));
    });
    assertEquals("RUNNING offload/kv:2", h.onNpu("kv"));
    // the NPU no longer has the previous image: the rollback deploys it again from the image dir
    h.containerz.removeImage(io.github.dpucoordinator.proto.gnoi.containerz.RemoveImageRequest.newBuilder().setName("offload/kv").setTag("1")
        .build()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    CliRunner.Run back = offloadctl("rollback", "kv");
    assertEquals(0, back.exit(), back.err());
    assertTrue(back.out().contains("rolled back to offload/kv:1"), back.out());
    JsonNode s = status("kv");
    assertEquals("1", s.get("tag").asText());
    assertEquals("[\"2\"]", s.get("failedVersions").toString());
    assertEquals("RUNNING offload/kv:1", h.onNpu("kv"));

    CliRunner.Run history = offloadctl("history", "kv", "--json");
    assertEquals(0, history.exit(), history.err());
    List<String> events = new ArrayList<>();
    JSON.readTree(history.out()).forEach(e -> events.add(e.get("event").asText()));
    assertTrue(events.containsAll(List.of("defined", "started", "stopped", "operator-start", "upgrade-started", "upgraded", "upgrade-failed",
        "rolled-back")), events.toString());
    CliRunner.Run table = offloadctl("list");
    assertTrue(table.out().matches("(?s).*kv\\s+offload/kv\\s+1\\s+RUNNING\\s+healthy.*"), table.out());
    offloadctl("stop", "kv");
  }

  @Test
  void refusalsAndUnreachableDaemonsHaveTheirExitCodes() throws Exception {
    CliRunner.Run unknown = offloadctl("status", "nope");
    assertEquals(ExitCodes.REFUSED, unknown.exit());
    assertTrue(unknown.err().contains("no offloaded container nope on DPU DPU0"), unknown.err());
    CliRunner.Run missing = offloadctl("deploy", "/no/such.tar");
    assertEquals(ExitCodes.REFUSED, missing.exit());
    assertTrue(missing.err().contains("/no/such.tar is neither a file nor NAME:TAG"), missing.err());
    CliRunner.Run notInDir = offloadctl("deploy", "offload/kv:9");
    assertEquals(ExitCodes.REFUSED, notInDir.exit());
    assertTrue(notInDir.err().contains("NOT_FOUND") && notInDir.err().contains("kv/9.tar"), notInDir.err());
    CliRunner.Run rollback = offloadctl("rollback", "nope");
    assertEquals(ExitCodes.REFUSED, rollback.exit());
    int closed = io.github.dpucoordinator.common.Ports.freeLoopbackPort();
    CliRunner.Run down = offloadctl("list", "--api", "127.0.0.1:" + closed);
    assertEquals(ExitCodes.UNREACHABLE, down.exit());
    assertTrue(down.err().contains("cannot reach the offloader daemon at 127.0.0.1:" + closed), down.err());
  }

  /** An NPU whose Containerz implements nothing but Deploy, like SONiC's: the daemon and offloadctl name what is missing. */
  @Test
  void anNpuWithoutTheRpcsIsNamed() throws Exception {
    Containerz onlyDeploy = (Containerz) Proxy.newProxyInstance(Containerz.class.getClassLoader(), new Class<?>[] {Containerz.class},
        (proxy, method, args) -> {
          GrpcServiceException no = new GrpcServiceException(Status.UNIMPLEMENTED.withDescription(method.getName() + " is not implemented"));
          return CompletionStage.class.isAssignableFrom(method.getReturnType()) ? CompletableFuture.failedFuture(no) : Source.failed(no);
        });
    var npu = GrpcServers.bind(h.kit.system(), "127.0.0.1", 0, List.of(new GrpcServers.Service(Containerz.description,
        ContainerzHandlerFactory.partial(onlyDeploy, Containerz.name, h.kit.system())))).toCompletableFuture().get(10, TimeUnit.SECONDS);
    var config = AppConfig.with(h.config(dir.resolve("sonic-offloader"), "[{name = db, image = \"offload/kv\", version-policy = \"1\"}]",
        Map.of()), "dpu-coordinator.offloader.npu-address", "127.0.0.1:" + npu.localAddress().getPort());
    try (OffloaderDaemon sonic = OffloaderDaemon.start(config)) {
      await(() -> {
        CliRunner.Run r = offloadctl("status", "db", "--api", "127.0.0.1:" + sonic.apiPort());
        assertTrue(r.out().contains("does not implement List") && r.out().contains("implements only Deploy"), r.out());
      });
      CliRunner.Run deploy = offloadctl("deploy", kv1.toString(), "--api", "127.0.0.1:" + sonic.apiPort());
      assertEquals(ExitCodes.REFUSED, deploy.exit());
      assertTrue(deploy.err().contains("does not implement Deploy"), deploy.err());
    }
  }
}
