package io.github.dpucoordinator.offloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.npu.containerz.docker.PrivateDocker;
import io.github.dpucoordinator.proto.offloader.ContainerRef;
import io.github.dpucoordinator.proto.offloader.ContainerState;
import io.github.dpucoordinator.proto.offloader.HistoryEntry;
import io.github.dpucoordinator.proto.offloader.OffloaderClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The offloader against an NPU whose Containerz runs containers in Docker (a private daemon; `-Pdocker`): the image
 * deployed from the image dir and started, upgraded with the DPU, and a failed upgrade rolled back.
 */
@Tag("needs-docker")
class OffloaderDockerTest {
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void startsUpgradesAndRollsBackOnDocker(@TempDir Path dir) throws Exception {
    try (PrivateDocker docker = PrivateDocker.start(Path.of("/tmp", "dpuctl-offload-docker-" + ProcessHandle.current().pid()));
        OffloaderHarness h = new OffloaderHarness(dir, Map.of("runtime", "docker", "docker-host", docker.host, "docker-network", "none"))) {
      h.image("offload/db", "1.0", OffloaderHarness.SERVICE);
      h.image("offload/db", "2.0", OffloaderHarness.SERVICE);
      h.image("offload/db", "3.0", "echo 'broken build'; exit 3\n");
      h.dpuVersion("1.0");
      try (OffloaderDaemon daemon = OffloaderDaemon.start(h.config(dir.resolve("offloader"), "[{name = db, image = \"offload/db\"}]",
          Map.of("upgrade.deadline", "30s")))) {
        OffloaderClient c = h.client(daemon);
        h.await(Duration.ofSeconds(90), () -> {
          assertEquals("RUNNING offload/db:1.0", h.onNpu("db"));
          assertEquals("healthy", state(c).getHealth());
        });
        h.dpuVersion("2.0");
        h.await(Duration.ofSeconds(120), () -> {
          assertTrue(events(c).contains("upgraded"), events(c).toString());
          assertEquals("RUNNING offload/db:2.0", h.onNpu("db"));
        });
        h.dpuVersion("3.0");
        h.await(Duration.ofSeconds(120), () -> {
          assertTrue(events(c).contains("rolled-back"), events(c).toString());
          ContainerState s = state(c);
          assertEquals(List.of("2.0", "steady", List.of("3.0")), List.of(s.getTag(), s.getPhase(), s.getFailedVersionsList()));
          assertEquals("RUNNING offload/db:2.0", h.onNpu("db"));
        });
        c.stop(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
    }
  }

  private static ContainerState state(OffloaderClient c) throws Exception {
    return c.status(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static List<String> events(OffloaderClient c) throws Exception {
    return c.history(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(30, TimeUnit.SECONDS).getEntriesList().stream()
        .map(HistoryEntry::getEvent).toList();
  }
}
