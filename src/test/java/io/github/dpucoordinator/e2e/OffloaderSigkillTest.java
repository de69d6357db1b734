package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.cli.DpuctlJvm;
import io.github.dpucoordinator.offloader.OffloaderHarness;
import io.github.dpucoordinator.proto.offloader.ContainerRef;
import io.github.dpucoordinator.proto.offloader.ContainerState;
import io.github.dpucoordinator.proto.offloader.HistoryEntry;
import io.github.dpucoordinator.proto.offloader.OffloaderClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `dpuctl offloader` in a JVM of its own, SIGKILLed in the middle of an upgrade and in the middle of a rollback, then
 * started again on the same journal: the upgrade is finished and the rollback is finished, each recorded once, and the
 * NPU runs one container, the right version, healthy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class OffloaderSigkillTest {
  @TempDir
  static Path dir;
  private OffloaderHarness h;
  private final List<Process> processes = new ArrayList<>();

  @BeforeAll
  void npu() throws Exception {
    h = new OffloaderHarness(dir);
    h.image("offload/db", "1.0", OffloaderHarness.SERVICE);
    h.image("offload/db", "2.0", OffloaderHarness.SERVICE);
    h.image("offload/db", "3.0", "echo 'broken build'; exit 3\n");
  }

  @AfterEach
  void kill() {
    processes.forEach(Process::destroyForcibly);
  }

  @AfterAll
  void close() {
    h.close();
  }

  private Process start(Path conf, int incarnation) throws Exception {
    List<String> command = new ArrayList<>(DpuctlJvm.command(List.of("-Dconfig.file=" + conf)));
    command.add("offloader");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("offloader-" + incarnation + ".out").toFile()).start();
    processes.add(p);
    return p;
  }

  private ContainerState status(OffloaderClient c) throws Exception {
    return c.status(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private List<String> history(OffloaderClient c) throws Exception {
    return c.history(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(10, TimeUnit.SECONDS).getEntriesList().stream()
        .map(HistoryEntry::getEvent).toList();
  }

  private <T> T await(Duration max, java.util.concurrent.Callable<T> check) {
    return h.kit.createTestProbe().awaitAssert(max, Duration.ofMillis(50), () -> {
      try {
        return check.call();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void killedDuringAnUpgradeAndDuringARollbackItFinishesBothOnce() throws Exception {
    h.dpuVersion("1.0");
    int api = Harness.freePort();
    Path conf = dir.resolve("offloader.conf");
    Files.writeString(conf, "include classpath(\"application.conf\")\n" + "dpu-coordinator.offloader {\n dpu-id = DPU0\n npu-address = \"127.0.0.1:"
        + h.npuPort + "\"\n data-dir = \"" + dir.resolve("journal") + "\"\n api-port = " + api + "\n version-file = \"" + dir.resolve("sonic_version.yml")
        + "\"\n image-dir = \"" + dir.resolve("images") + "\"\n health { interval = 200ms, tcp-timeout = 200ms }\n"
        + " upgrade { min-healthy = 3s, deadline = 20s }\n containers = [{name = db, image = \"offload/db\"}]\n}\n");
    OffloaderClient c = OffloaderClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", api, h.kit.system()).withTls(false),
        h.kit.system());

    Process first = start(conf, 0);
    await(Duration.ofSeconds(60), () -> {
      assertEquals("healthy", status(c).getHealth());
      return null;
    });

    // the DPU moves to 2.0; the daemon is killed while the new version proves itself (min-healthy 3 s)
    h.dpuVersion("2.0");
    await(Duration.ofSeconds(30), () -> {
      assertEquals("upgrading", status(c).getPhase());
      return null;
    });
    first.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL
    start(conf, 1);
    await(Duration.ofSeconds(60), () -> {
      ContainerState s = status(c);
      assertEquals(List.of("steady", "2.0", "healthy"), List.of(s.getPhase(), s.getTag(), s.getHealth()));
      return null;
    });
    assertTrue(Harness.read(dir.resolve("offloader-1.out")).contains("found an upgrade 1.0 -> 2.0 half done"),
        Harness.read(dir.resolve("offloader-1.out")));
    List<String> events = history(c);
    assertEquals(List.of(1L, 1L), List.of(events.stream().filter("upgrade-started"::equals).count(),
        events.stream().filter("upgraded"::equals).count()), events.toString());
    assertEquals("RUNNING offload/db:2.0", h.onNpu("db"));

    // 3.0 does not run: the daemon is killed while it rolls back to 2.0
    h.dpuVersion("3.0");
    await(Duration.ofSeconds(30), () -> {
      assertEquals("rolling-back", status(c).getPhase());
      return null;
    });
    processes.get(1).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    start(conf, 2);
    await(Duration.ofSeconds(60), () -> {
      ContainerState s = status(c);
      assertEquals(List.of("steady", "2.0", "healthy", List.of("3.0")), List.of(s.getPhase(), s.getTag(), s.getHealth(), s.getFailedVersionsList()));
      return null;
    });
    assertTrue(Harness.read(dir.resolve("offloader-2.out")).contains("found a rollback 3.0 -> 2.0 half done"),
        Harness.read(dir.resolve("offloader-2.out")));
    events = history(c);
    assertEquals(List.of(1L, 1L), List.of(events.stream().filter("upgrade-failed"::equals).count(),
        events.stream().filter("rolled-back"::equals).count()), events.toString());
    assertEquals("RUNNING offload/db:2.0", h.onNpu("db"));
    c.stop(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    c.close();
  }
}
