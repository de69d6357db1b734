package io.github.dpucoordinator.common.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC's C core (Debian's python3-grpcio, its own TLS stack) reaches the agent's gNOI service over mutual TLS with the
 * lab CA, finds it by server reflection and calls Time; without a client certificate it is refused UNAUTHENTICATED.
 * Runs with -Psystem-tools (.ci/run installs python3-grpcio).
 */
@Tag("needs-python-grpc")
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class IndependentTlsClientTest {
  static final String SERVER = "dpu-coordinator.agent.tls";

  @Test
  void grpcCoreFindsTheAgentsGnoiServiceByReflectionOverMutualTls(@TempDir Path dir) throws Exception {
    TlsLab lab = new TlsLab(dir);
    lab.issue("DPU0");
    lab.issue("tool");
    Config config = AppConfig.with(lab.server(AppConfig.load(), SERVER, "mtls", "DPU0"), SERVER + ".allowed-clients", List.of("tool"));
    ActorTestKit kit = ActorTestKit.create("independent", config);
    try {
      int port = AgentServer.start(kit.system(), AgentSettings.create(config).withId("DPU0").withPort(0), config)
          .toCompletableFuture().get(30, TimeUnit.SECONDS).port();
      Path script = dir.resolve("client.py");
      try (var in = getClass().getResourceAsStream("/independent_grpc_client.py")) {
        Files.write(script, in.readAllBytes());
      }
      long before = System.currentTimeMillis() * 1_000_000L;
      String[] ok = run(script, port, lab.caFile(), lab.cert("tool"), lab.key("tool"));
      assertEquals("0", ok[0], ok[1]);
      assertTrue(ok[1].contains("service gnoi.system.System"), ok[1]);
      assertTrue(ok[1].contains("service reboot.RebootService") || ok[1].contains("RebootService"), ok[1]);
      long ns = Long.parseLong(ok[1].lines().filter(l -> l.startsWith("time ")).findFirst().orElseThrow().substring(5));
      assertTrue(ns >= before - 60_000_000_000L && ns <= before + 60_000_000_000L, "the agent's clock in ns since the epoch: " + ns);

      String[] anonymous = run(script, port, lab.caFile(), null, null);
      assertEquals("1", anonymous[0], anonymous[1]);
      assertTrue(anonymous[1].contains("error UNAUTHENTICATED"), anonymous[1]);
    } finally {
      kit.shutdownTestKit();
    }
  }

  private static String[] run(Path script, int port, Path ca, Path cert, Path key) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script.toString(), "127.0.0.1", String.valueOf(port), ca.toString(),
        cert == null ? "-" : cert.toString(), key == null ? "-" : key.toString(), "DPU0"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the client finished");
    return new String[] {String.valueOf(p.exitValue()), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)};
  }
}
