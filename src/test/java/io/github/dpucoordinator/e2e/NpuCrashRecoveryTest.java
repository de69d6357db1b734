package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.npu.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NPU service runs as its own JVM (`dpuctl npu`), is killed with SIGKILL in the middle of a
 * campaign and started again on the same data dir: the campaign completes, every DPU ran its
 * shutdown exactly once and the reboot command ran exactly once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NpuCrashRecoveryTest {
  private final ActorTestKit kit = ActorTestKit.create("crash-test", io.github.dpucoordinator.common.AppConfig.load());
  private final List<Process> processes = new ArrayList<>();

  @AfterAll
  void shutdown() {
    processes.forEach(Process::destroyForcibly);
    kit.shutdownTestKit();
  }

  private Process startNpu(Path dataDir, int adminPort, List<DpuEndpoint> dpus, Path rebootLog, Path output) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"),
        "-XX:+UseSerialGC", "-Xmx256m",
        "-cp", System.getProperty("java.class.path"),
        "io.github.dpucoordinator.cli.Main", "npu",
        "--data-dir", dataDir.toString(),
        "--admin-port", String.valueOf(adminPort),
        "--reboot-cmd", "echo reboot >> '" + rebootLog + "'"));
    dpus.forEach(d -> cmd.addAll(List.of("--dpu", d.id() + "=127.0.0.1:" + d.port())));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
    pb.environment().put("DPUCOORD_ACK_DEADLINE", "30s");
    pb.environment().put("DPUCOORD_HALT_TIMEOUT", "10s");
    pb.environment().put("DPUCOORD_SIGNAL_ATTEMPTS", "3");
    pb.environment().put("DPUCOORD_SIGNAL_TIMEOUT", "2s");
    pb.environment().put("DPUCTL_TEST_LOG_LEVEL", "INFO");
    pb.environment().put("DPUCOORD_REBOOT_RETURN_AFTER", "200ms");
    pb.environment().put("DPUCOORD_BOOT_WAIT", "20s");
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  private JsonNode awaitStatus(TestProbe<?> probe, NpuAdminClient admin, Duration max, java.util.function.Predicate<JsonNode> ok,
      Path output) {
    return probe.awaitAssert(max, Duration.ofMillis(100), () -> {
      JsonNode s = Harness.status(admin);
      assertTrue(ok.test(s), () -> "status not reached yet: " + s + "\nservice output:\n" + read(output));
      return s;
    });
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (Exception e) {
      return "(unreadable: " + e + ")";
    }
  }

  @Test
  void aSigkilledServiceResumesItsCampaignAndRunsEveryShutdownAndTheRebootOnce(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "K", 3, 4000);
    List<DpuEndpoint> dpus = Harness.endpoints(agents);
    Path dataDir = dir.resolve("data");
    Path rebootLog = dir.resolve("reboots.log");
    Path output = dir.resolve("npu.out");
    int adminPort = Harness.freePort();
    NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
    TestProbe<Object> probe = kit.createTestProbe();

    Process first = startNpu(dataDir, adminPort, dpus, rebootLog, output);
    awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("phase").asText().equals("Idle"), output);

    // a second service on the same data dir is refused at once, and the first one keeps running
    Path secondOutput = dir.resolve("second.out");
    Process second = startNpu(dataDir, Harness.freePort(), dpus, rebootLog, secondOutput);
    assertTrue(second.waitFor(30, TimeUnit.SECONDS));
    assertEquals(5, second.exitValue(), read(secondOutput));
    assertTrue(read(secondOutput).contains("is in use by another process"), read(secondOutput));
    assertTrue(first.isAlive());
    StartCampaignResponse started = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("crash test").build())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(started.getAccepted(), started.getMessage());
    awaitStatus(probe, admin, Duration.ofSeconds(10), s -> {
      for (JsonNode d : s.path("lastCampaign").path("dpus")) {
        if (!d.path("state").asText().equals("ACKNOWLEDGED")) {
          return false;
        }
      }
      return true;
    }, output);

    first.destroyForcibly(); // SIGKILL
    assertTrue(first.waitFor(10, TimeUnit.SECONDS));
    assertEquals(137, first.exitValue(), "killed by SIGKILL");

    startNpu(dataDir, adminPort, dpus, rebootLog, output);
    JsonNode done = awaitStatus(probe, admin, Duration.ofSeconds(60), s ->
        s.path("lastCampaign").path("id").asText().equals(started.getCampaignId())
            && !s.path("lastCampaign").path("inFlight").asBoolean(), output);

    assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toString());
    assertFalse(read(output).contains("Exception"), read(output));
    for (AgentServer.Running a : agents) {
      assertEquals(1, Harness.agentState(kit.system(), a).shutdownRuns(), a.dpuId() + " ran its shutdown exactly once");
    }
    assertEquals(List.of("reboot"), Files.readAllLines(rebootLog), "the reboot command ran exactly once");
    assertTrue(read(output).contains("recovered in phase WaitForAcknowledgments"), read(output));
  }
}
