package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.cli.CliRunner;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerRequest;
import io.github.dpucoordinator.sim.ImageTarballs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `dpuctl npu` runs a container (restart policy ALWAYS) for a DPU over its DPU API, and is killed with SIGKILL: no
 * process of the container outlives it, and once the service is started again the container runs again; `dpuctl chassis
 * modules status` shows it under its DPU.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerzSigkillTest {
  private final ActorTestKit kit = ActorTestKit.create("containerz-kill", AppConfig.load());
  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void killServices() {
    processes.forEach(Process::destroyForcibly);
  }

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  /** Processes whose program lies under {@code dataDir} (the containers' unpacked roots). */
  private static List<ProcessHandle> containerProcesses(Path dataDir) {
    String prefix = dataDir.toAbsolutePath().toString();
    return ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.startsWith(prefix)).orElse(false)).toList();
  }

  private int dpuApiPort(Path output) {
    TestProbe<Object> probe = kit.createTestProbe();
    return probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(100), () -> {
      String out = Harness.read(output);
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("DPU API on /127\\.0\\.0\\.1:(\\d+)").matcher(out);
      assertTrue(m.find(), out);
      return Integer.parseInt(m.group(1));
    });
  }

  private int adminPort;

  private Process start(Path dir, Path dataDir, int incarnation) throws Exception {
    adminPort = Harness.freePort();
    // one DPU, which never answers: what matters here is that a container can be labelled as running for it
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint("DPU0", "127.0.0.1", Harness.freePort(), DpuEndpoint.GNOI));
    Process p = NpuProcess.start(dataDir, adminPort, dpus, "true", dir.resolve("npu-" + incarnation + ".out"), List.of(), Map.of());
    processes.add(p);
    return p;
  }

  private ContainerzClient client(int port) {
    return ContainerzClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", port, kit.system()).withTls(false), kit.system());
  }

  private List<ListContainerResponse> list(ContainerzClient client) throws Exception {
    return client.listContainer(ListContainerRequest.newBuilder().setAll(true).build()).runWith(Sink.seq(), kit.system())
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aContainerDiesWithAKilledServiceAndRunsAgainAfterItsRestart(@TempDir Path dir) throws Exception {
    Path dataDir = dir.resolve("data");
    Process npu = start(dir, dataDir, 0);
    ContainerzClient client = client(dpuApiPort(dir.resolve("npu-0.out")));
    Path tarball = ImageTarballs.scriptImage(dir.resolve("svc.tar"), "offload/svc", "1",
        "echo up\nwhile :; do sleep 0.1 & wait $!; done\n");
    io.github.dpucoordinator.npu.containerz.ContainerzCalls.deploy(client, kit, "offload/svc", "1", tarball);
    client.startContainer(StartContainerRequest.newBuilder().setImageName("offload/svc").setTag("1").setInstanceName("svc")
        .putLabels("dpu", "DPU0").setRestart(StartContainerRequest.Restart.newBuilder().setPolicy(StartContainerRequest.Restart.Policy.ALWAYS))
        .build())
        .toCompletableFuture().get(60, TimeUnit.SECONDS);
    TestProbe<Object> probe = kit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
      assertTrue(!containerProcesses(dataDir).isEmpty(), "the container runs");
      return null;
    });

    npu.destroyForcibly(); // SIGKILL
    assertTrue(npu.waitFor(10, TimeUnit.SECONDS));
    probe.awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      assertEquals(List.of(), containerProcesses(dataDir).stream().map(p -> p.pid() + " " + p.info().commandLine().orElse("")).toList(),
          "processes of the container outlived the service");
      return null;
    });

    start(dir, dataDir, 1);
    ContainerzClient again = client(dpuApiPort(dir.resolve("npu-1.out")));
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      List<ListContainerResponse> listed = list(again);
      assertEquals(1, listed.size(), listed.toString());
      assertEquals(ListContainerResponse.Status.RUNNING, listed.get(0).getStatus());
      assertEquals("offload/svc:1", listed.get(0).getImageName());
      assertTrue(!containerProcesses(dataDir).isEmpty(), "its process runs again");
      return null;
    });
    // the chassis shows the DPU's containers on the NPU
    CliRunner.Run modules = CliRunner.dpuctl("chassis", "modules", "status", "--admin", "127.0.0.1:" + adminPort);
    assertTrue(modules.out().contains("DPU0 containers on the NPU: svc (offload/svc:1, RUNNING)"), modules.out() + modules.err());
    CliRunner.Run json = CliRunner.dpuctl("chassis", "modules", "status", "--json", "--admin", "127.0.0.1:" + adminPort);
    assertTrue(json.out().contains("\"containers\":[{\"name\":\"svc\",\"image\":\"offload/svc:1\",\"status\":\"RUNNING\"}]"), json.out());
  }
}
