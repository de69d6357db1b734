package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NPU service's and the agents' Prometheus endpoints, scraped during a campaign over both protocols and after it: the
 * meters move with what the service journals and what the DPUs serve.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsEndpointTest {
  private final int agentMetricsPort = freePort();
  private final ActorTestKit kit = ActorTestKit.create("metrics",
      AppConfig.with(AppConfig.with(AppConfig.load(), "dpu-coordinator.agent.metrics.port", agentMetricsPort), "dpu-coordinator.agent.metrics.enabled",
          true));
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private static int freePort() {
    try {
      return Harness.freePort();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aCampaignMovesTheNpusAndTheAgentsMetricsAndTheEndpointAnswersWhileItRuns(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "MET", 2, 1_500);
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint("MET0", "127.0.0.1", agents.get(0).port(), DpuEndpoint.REBOOT_SERVICE),
        new DpuEndpoint("MET1", "127.0.0.1", agents.get(1).port(), DpuEndpoint.GNOI));
    int npuPort = freePort();
    Config c = AppConfig.with(AppConfig.with(Harness.npuConfig(dir), "dpu-coordinator.npu.metrics.port", npuPort),
        "dpu-coordinator.npu.metrics.enabled", true);
    c = AppConfig.with(c, "dpu-coordinator.npu.gnoi.status-poll-interval", "100ms");
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "npu-metrics", c);
    try {
      NpuSettings settings = NpuSettings.create(c).withDpus(dpus);
      NpuService.Running running = NpuService.start(system, settings).toCompletableFuture().get(30, TimeUnit.SECONDS);
      NpuAdminClient admin = Harness.admin(system, running.adminPort());
      String npu = "http://127.0.0.1:" + npuPort + "/metrics";
      String agent = "http://127.0.0.1:" + agentMetricsPort + "/metrics";
      String before = kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(100), () -> scrape(npu));
      String agentsBefore = scrape(agent);

      var r = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("metrics").build()).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(r.getAccepted(), r.getMessage());
      // During the campaign: both DPUs acknowledged, neither finished its 1.5 s shutdown.
      Harness.awaitStatus(kit.createTestProbe(), admin, Duration.ofSeconds(10), s -> s.path("lastCampaign").path("dpus").findValues("ack")
          .stream().filter(a -> !a.asText().isEmpty()).count() == 2, () -> "");
      String during = scrape(npu);
      assertEquals(2, delta(before, during, "dpu_ack_latency_seconds_count"), during);
      assertEquals(1, delta(before, during, "dpu_campaign_phase_seconds_count", "phase", "NotifyDPUs"), during);
      assertEquals(0, delta(before, during, "dpu_completion_latency_seconds_count"), "no DPU finished yet\n" + during);
      assertEquals(1, delta(before, during, "dpu_gnoi_reboot_status_calls_total", "purpose", "baseline"), during);
      assertTrue(delta(before, during, "dpu_journal_write_seconds_count", "events", "CampaignEvent") >= 3, during);
      assertTrue(during.contains("# TYPE dpu_ack_latency_seconds histogram"), during);
      assertTrue(during.contains("dpu_ack_latency_seconds_bucket{le=\"0.05\"}"), "a bucket at 50 ms\n" + during);

      JsonNode done = Harness.awaitStatus(kit.createTestProbe(), admin, Duration.ofSeconds(30),
          s -> s.path("lastCampaign").path("id").asText().equals(r.getCampaignId()) && !s.path("lastCampaign").path("inFlight").asBoolean(),
          () -> "");
      assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toString());
      String after = scrape(npu);
      assertEquals(2, delta(before, after, "dpu_completion_latency_seconds_count"), after);
      assertEquals(1, delta(before, after, "dpu_campaign_seconds_count", "kind", "cold", "outcome", "success"), after);
      assertTrue(delta(before, after, "dpu_gnoi_reboot_status_calls_total", "purpose", "poll") >= 1, after);
      assertEquals(1, delta(before, after, "dpu_campaign_phase_seconds_count", "phase", "PostReboot"), after);
      double completion = delta(before, after, "dpu_completion_latency_seconds_sum");
      assertTrue(completion >= 2 * 1.5 && completion < 2 * 10, "two 1.5 s shutdowns: " + completion + " s in all");

      String agentsAfter = scrape(agent);
      assertEquals(1, delta(agentsBefore, agentsAfter, "dpu_agent_signals_total", "disposition", "STARTED", "dpu", "MET0"), agentsAfter);
      assertEquals(1, delta(agentsBefore, agentsAfter, "dpu_agent_signals_total", "disposition", "STARTED", "dpu", "MET1"), agentsAfter);
      assertEquals(1, delta(agentsBefore, agentsAfter, "dpu_agent_shutdown_seconds_count", "dpu", "MET0", "outcome", "ok"), agentsAfter);
      assertTrue(delta(agentsBefore, agentsAfter, "dpu_agent_reboot_status_calls_total", "dpu", "MET1") >= 2, "baseline and polls\n" + agentsAfter);
      assertEquals(0, delta(agentsBefore, agentsAfter, "dpu_agent_reboot_status_calls_total", "dpu", "MET0"), "the seed protocol's DPU");

      HttpResponse<String> elsewhere = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + npuPort + "/")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(404, elsewhere.statusCode());
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aMetricsPortOutOfRangeIsRefusedNamingTheKey(@TempDir Path dir) throws Exception {
    Config c = AppConfig.with(AppConfig.with(Harness.npuConfig(dir), "dpu-coordinator.npu.metrics.port", 70000),
        "dpu-coordinator.npu.metrics.enabled", true);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "npu-metrics-bad", c);
    try {
      ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
          () -> NpuService.start(system, NpuSettings.create(c)).toCompletableFuture().get(30, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("dpu-coordinator.npu.metrics.port"), e.getCause().getMessage());
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private String scrape(String url) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
    return r.body();
  }

  /** How much the series {@code name} with these labels (pairs; others ignored) grew between two scrapes (summed over matches). */
  private static double delta(String before, String after, String name, String... labels) {
    return value(after, name, labels) - value(before, name, labels);
  }

  private static double value(String text, String name, String... labels) {
    double sum = 0;
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*\\})? (\\S+)$").matcher(text);
    while (m.find()) {
      String tags = m.group(1) == null ? "" : m.group(1);
      boolean match = true;
      for (int i = 0; i + 1 < labels.length; i += 2) {
        match &= tags.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
      }
      if (match) {
        sum += Double.parseDouble(m.group(2));
      }
    }
    return sum;
  }
}
