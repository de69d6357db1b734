package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Seed 001's named-pipe IPC on real FIFOs, against a running NPU service and real agents. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipeGatewayTest {
  private final ActorTestKit kit = ActorTestKit.create("pipes", AppConfig.load());
  private ActorSystem<Void> npuSystem;
  private Path requestPipe;
  private Path responsePipe;
  private Responses responses;

  @BeforeAll
  void start() throws Exception {
    Path dir = Files.createTempDirectory("pipe-gateway-test");
    List<AgentServer.Running> agents = new ArrayList<>(Harness.startAgents(kit.system(), "DPU", 2, 300));
    AgentSettings slow = AgentSettings.create(AppConfig.load()).withId("SLOW").withPort(0)
        .withSteps(List.of(StepSpec.simulated("work", Duration.ofSeconds(3)))).withRestartAfter(Optional.of(Duration.ZERO));
    agents.add(AgentServer.start(kit.system(), slow).toCompletableFuture().get(30, TimeUnit.SECONDS));
    List<DpuEndpoint> dpus = new ArrayList<>(Harness.endpoints(agents));
    Config config = AppConfig.with(Harness.npuConfig(dir), "dpu-coordinator.npu.gnoi.status-poll-interval", "100ms");
    config = AppConfig.with(config, "dpu-coordinator.npu.gateway.check-interval", "200ms");
    config = AppConfig.with(config, "dpu-coordinator.npu.gateway.max-request-bytes", 1024);
    npuSystem = ActorSystem.create(Behaviors.empty(), "npu-pipes", config);
    NpuSettings settings = NpuSettings.create(config).withDpus(dpus);
    NpuService.start(npuSystem, settings).toCompletableFuture().get(30, TimeUnit.SECONDS);
    requestPipe = settings.requestPipe();
    responsePipe = settings.responsePipe();
    responses = new Responses(responsePipe);
  }

  @AfterAll
  void stop() throws Exception {
    npuSystem.terminate();
    npuSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    kit.shutdownTestKit();
  }

  /** Reads the response FIFO line by line, as module_base.py would. */
  static final class Responses {
    final BlockingQueue<JsonNode> lines = new LinkedBlockingQueue<>();

    Responses(Path fifo) {
      Thread t = new Thread(() -> {
        try (BufferedReader r = Files.newBufferedReader(fifo, StandardCharsets.UTF_8)) {
          for (String l; (l = r.readLine()) != null; ) {
            lines.add(Json.read(l));
          }
        } catch (IOException e) {
          // the FIFO was removed: the test starts a new reader
        }
      }, "test-response-reader");
      t.setDaemon(true);
      t.start();
    }

    JsonNode next() throws InterruptedException {
      JsonNode n = lines.poll(30, TimeUnit.SECONDS);
      assertNotNull(n, "no response within 30 s");
      return n;
    }

    /** The next n responses, by dpu_id and message. */
    Map<String, JsonNode> next(int n) throws InterruptedException {
      Map<String, JsonNode> byKey = new HashMap<>();
      for (int i = 0; i < n; i++) {
        JsonNode r = next();
        byKey.put(r.path("dpu_id").asText() + " " + r.path("message").asText(), r);
      }
      return byKey;
    }
  }

  private void write(String text) throws IOException {
    Files.writeString(requestPipe, text, StandardCharsets.UTF_8, StandardOpenOption.WRITE);
  }

  private static boolean isFifo(Path p) {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther();
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void theSeedsExampleRequestByteForByteGetsASuccessResponseInTheSeedsFormat() throws Exception {
    assertTrue(isFifo(requestPipe) && isFifo(responsePipe));
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(requestPipe)));
    write(io.github.dpucoordinator.npu.gateway.RequestFramerTestAccess.SEED_EXAMPLE);
    JsonNode r = responses.next();
    assertEquals("DPU0", r.path("dpu_id").asText());
    assertEquals("SUCCESS", r.path("status").asText(), r.toString());
    assertTrue(r.path("message").asText().startsWith("HALT ok: halted"), r.toString());
    Instant.parse(r.path("timestamp").asText()); // ISO 8601
    assertEquals(4, r.size(), "dpu_id, status, timestamp, message");
  }

  @Test
  void badInputIsAnsweredWithWhatWasWrongAndTheGatewayKeepsServing() throws Exception {
    write("{not json and no dpu id\n");                                      // logged only: nothing to answer to
    write("{\"method\": \"HALT\"}\n");                                        // logged only
    write("{\"dpu_id\": \"DPU0\", \"method\": }\n");
    write("{\"dpu_id\": \"DPU0\", \"reason\": \"no method\"}\n");
    write("{\"dpu_id\": \"DPU0\", \"method\": 3}\n");
    write("{\"dpu_id\": \"DPU9\", \"method\": \"HALT\"}\n");
    write("{\"dpu_id\": \"DPU1\", \"method\": \"POWERUP\"}\n");
    write("{\"dpu_id\": \"DPU1\", \"method\": \"HALT\", \"reason\": \"" + "x".repeat(2000) + "\"}\n");
    Map<String, JsonNode> got = responses.next(6);
    List<String> expected = List.of(
        "DPU0 malformed JSON",
        "DPU0 method is missing",
        "DPU0 method must be a string",
        "DPU9 unknown DPU 'DPU9'; configured: DPU0, DPU1, SLOW",
        "DPU1 method 'POWERUP' is not supported",
        "DPU1 request longer than 1024 bytes");
    for (String e : expected) {
      assertTrue(got.keySet().stream().anyMatch(k -> k.startsWith(e)), e + " not in " + got.keySet());
    }
    got.values().forEach(r -> assertEquals("FAILURE", r.path("status").asText()));
    // still serving
    write("{\"dpu_id\": \"DPU1\", \"method\": \"HALT\"}\n");
    JsonNode ok = responses.next();
    assertEquals("SUCCESS", ok.path("status").asText(), ok.toString());
  }

  @Test
  void twoDpusRunInParallelAndARequestForADpuInTransitionIsRefused() throws Exception {
    write("{\"dpu_id\": \"SLOW\", \"method\": \"HALT\", \"reason\": \"first\"}\n{\"dpu_id\": \"DPU0\", \"method\": \"HALT\"}\n");
    write("{\"dpu_id\": \"SLOW\", \"method\": \"HALT\", \"reason\": \"second\"}\n");
    List<JsonNode> answers = List.of(responses.next(), responses.next(), responses.next());
    JsonNode refused = answers.stream().filter(r -> r.path("status").asText().equals("FAILURE")).findFirst().orElseThrow();
    assertEquals("SLOW", refused.path("dpu_id").asText());
    assertTrue(refused.path("message").asText().contains("SLOW is already in a halt"), refused.toString());
    List<String> successes = answers.stream().filter(r -> r.path("status").asText().equals("SUCCESS"))
        .map(r -> r.path("dpu_id").asText()).toList();
    assertEquals(List.of("DPU0", "SLOW"), successes, "DPU0 finished while SLOW was still halting: they ran in parallel");
  }

  @Test
  void removedFifosAreRecreatedAndServedAgain() throws Exception {
    Files.delete(requestPipe);
    Files.delete(responsePipe);
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      assertTrue(isFifo(requestPipe) && isFifo(responsePipe), "both FIFOs are back");
      return null;
    });
    responses = new Responses(responsePipe);
    write("{\"dpu_id\": \"DPU0\", \"method\": \"HALT\"}\n");
    JsonNode r = responses.next();
    assertEquals("SUCCESS", r.path("status").asText(), r.toString());
  }
}
