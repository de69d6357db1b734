package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.cli.DpuctlJvm;
import io.github.dpucoordinator.offloader.OffloaderHarness;
import io.github.dpucoordinator.proto.offloader.ContainerRef;
import io.github.dpucoordinator.proto.offloader.ContainerState;
import io.github.dpucoordinator.proto.offloader.ListReply;
import io.github.dpucoordinator.proto.offloader.ListRequest;
import io.github.dpucoordinator.proto.offloader.OffloaderClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `dpuctl offloader` with its journal on a 16 MiB tmpfs of the test's own, filled up just as the DPU's new version asks
 * for an upgrade: the journal's writes fail (JOURNAL WRITE FAILED in its log, listed by `offloadctl list`), the daemon
 * keeps running and touches nothing it could not journal first, and once space is back the upgrade runs, recorded once.
 */
@Tag("needs-root")
class OffloaderJournalFullTest {

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void aFullDiskUnderTheOffloadersJournalCostsADelayNotTheUpgrade(@TempDir Path dir) throws Exception {
    List<Process> processes = new ArrayList<>();
    try (OffloaderHarness h = new OffloaderHarness(dir)) {
      SmallDisk disk = SmallDisk.mount(dir, "dpuc-offloader-full-test");
      try {
        run(h, disk, dir, processes);
      } finally {
        processes.forEach(Process::destroyForcibly);
        for (Process p : processes) {
          p.waitFor(10, TimeUnit.SECONDS); // before the unmount: the daemon holds its journal there
        }
        disk.close();
      }
    }
  }

  private void run(OffloaderHarness h, SmallDisk disk, Path dir, List<Process> processes) throws Exception {
    {
      h.image("offload/db", "1.0", OffloaderHarness.SERVICE);
      h.image("offload/db", "2.0", OffloaderHarness.SERVICE);
      h.dpuVersion("1.0");
      int api = Harness.freePort();
      Path conf = dir.resolve("offloader.conf");
      Files.writeString(conf, "include classpath(\"application.conf\")\ndpu-coordinator.offloader {\n dpu-id = DPU0\n npu-address = \"127.0.0.1:"
          + h.npuPort + "\"\n data-dir = \"" + disk.root.resolve("journal") + "\"\n api-port = " + api + "\n version-file = \""
          + dir.resolve("sonic_version.yml") + "\"\n image-dir = \"" + dir.resolve("images") + "\"\n health { interval = 200ms, tcp-timeout = 200ms }\n"
          + " upgrade { min-healthy = 1s, deadline = 20s }\n containers = [{name = db, image = \"offload/db\"}]\n}\n");
      Path output = dir.resolve("offloader.out");
      List<String> command = new ArrayList<>(DpuctlJvm.command(List.of("-Dconfig.file=" + conf)));
      command.add("offloader");
      Process daemon = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
      processes.add(daemon);
      OffloaderClient c = OffloaderClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", api, h.kit.system()).withTls(false)
          .withDeadline(Duration.ofSeconds(10)), h.kit.system());
      await(h, Duration.ofSeconds(60), () -> assertEquals("healthy", state(c).getHealth(), Harness.read(output)));

      disk.fill();
      h.dpuVersion("2.0"); // an upgrade whose first step is a journal write
      // listed, and still failing 3 s on: the NPU is checked below after that time, not at the first failure only
      ListReply failing = await(h, Duration.ofSeconds(90), () -> {
        ListReply l = c.list(ListRequest.getDefaultInstance()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertTrue(l.getJournalFailuresCount() > 0 && !l.getJournalFailures(0).matches(".*\\(failing for [0-2] s,.*"), l.toString());
        return l;
      });
      assertTrue(failing.getJournalFailures(0).startsWith("offloaded|DPU0|db: event #"), failing.toString());
      assertTrue(Harness.read(output).contains("JOURNAL WRITE FAILED for "), Harness.read(output));
      assertTrue(daemon.isAlive(), "the daemon keeps running with a full disk");
      assertEquals("RUNNING offload/db:1.0", h.onNpu("db"), "nothing it could not journal first was done on the NPU");

      disk.free();
      ContainerState upgraded = await(h, Duration.ofSeconds(90), () -> {
        ContainerState s = state(c);
        assertEquals(List.of("steady", "2.0", "healthy"), List.of(s.getPhase(), s.getTag(), s.getHealth()), s.toString());
        return s;
      });
      assertEquals("2.0", upgraded.getTag());
      assertEquals("RUNNING offload/db:2.0", h.onNpu("db"));
      ListReply after = await(h, Duration.ofSeconds(30), () -> {
        ListReply l = c.list(ListRequest.getDefaultInstance()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(0, l.getJournalFailuresCount(), l.toString());
        return l;
      });
      assertEquals(1, after.getContainersCount());
      List<String> events = c.history(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(10, TimeUnit.SECONDS)
          .getEntriesList().stream().map(e -> e.getEvent()).toList();
      assertEquals(List.of(1L, 1L), List.of(events.stream().filter("upgrade-started"::equals).count(),
          events.stream().filter("upgraded"::equals).count()), events.toString());
      assertTrue(Harness.read(output).contains("succeed again"), Harness.read(output));
      c.close();
    }
  }

  private static ContainerState state(OffloaderClient c) throws Exception {
    return c.status(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static <T> T await(OffloaderHarness h, Duration max, Callable<T> check) {
    return h.kit.createTestProbe().awaitAssert(max, Duration.ofMillis(100), () -> {
      try {
        return check.call();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  private static void await(OffloaderHarness h, Duration max, ThrowingCheck check) {
    await(h, max, () -> {
      check.run();
      return null;
    });
  }

  private interface ThrowingCheck {
    void run() throws Exception;
  }
}
