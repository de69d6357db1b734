package io.github.dpucoordinator.offloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.tls.TlsLab;
import io.github.dpucoordinator.proto.offloader.ContainerRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The offloader reaching the NPU's Containerz over mutual TLS with its DPU's certificate (offloader.npu-tls): it deploys
 * and starts its container, which the NPU labels as DPU0's; with another DPU's certificate it could not have touched it.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class OffloaderTlsTest {
  @Test
  void anOffloaderWithItsDpusCertificateRunsItsContainerOverMutualTls(@TempDir Path dir) throws Exception {
    TlsLab lab = new TlsLab(Files.createDirectories(dir.resolve("pki")));
    lab.issue("npu");
    lab.issue("DPU0");
    try (OffloaderHarness h = new OffloaderHarness(dir, Map.of(), lab)) {
      h.dpuVersion("1.0");
      h.image("offload/db", "1.0", OffloaderHarness.SERVICE);
      var config = lab.client(h.config(dir.resolve("data"), "[{name = db, image = \"offload/db\"}]", Map.of()),
          OffloaderSettings.KEY + ".npu-tls", "DPU0");
      config = AppConfig.with(config, OffloaderSettings.KEY + ".npu-tls.server-name", "npu");
      try (OffloaderDaemon daemon = OffloaderDaemon.start(config)) {
        h.await(Duration.ofSeconds(30), () -> assertEquals("RUNNING offload/db:1.0", h.onNpu("db")));
        var status = h.client(daemon).status(ContainerRef.newBuilder().setName("db").build()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertTrue(status.toString().contains("db"), status.toString());
        var listed = h.containerz.listContainer(io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest.newBuilder().setAll(true)
            .build()).runWith(org.apache.pekko.stream.javadsl.Sink.seq(), h.kit.system()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals("DPU0", listed.get(0).getLabelsMap().get("dpu"), listed.toString());
      }
    }
  }
}
