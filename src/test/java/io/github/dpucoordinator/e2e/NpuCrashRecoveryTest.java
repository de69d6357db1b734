package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import io.github.dpucoordinator.proto.notice.Decision;
import io.github.dpucoordinator.proto.notice.DpuRebootNotice;
import io.github.dpucoordinator.proto.notice.DpuRebootNoticesClient;
import io.github.dpucoordinator.proto.notice.RebootGoingNotice;
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

  @org.junit.jupiter.api.AfterEach
  void killServices() {
    processes.forEach(Process::destroyForcibly);
    processes.clear();
  }

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private Process startNpu(Path dataDir, int adminPort, List<DpuEndpoint> dpus, Path rebootLog, Path output) throws Exception {
    return startNpu(dataDir, adminPort, dpus, rebootLog, output, List.of(), java.util.Map.of());
  }

  /** {@code jvmArgs} e.g. -Dconfig.file=...; {@code env} overrides the test defaults. */
  private Process startNpu(Path dataDir, int adminPort, List<DpuEndpoint> dpus, Path rebootLog, Path output, List<String> jvmArgs,
      java.util.Map<String, String> env) throws Exception {
    Process p = NpuProcess.start(dataDir, adminPort, dpus, "echo reboot >> '" + rebootLog + "'", output, jvmArgs, env);
    processes.add(p);
    return p;
  }

  private JsonNode awaitStatus(TestProbe<?> probe, NpuAdminClient admin, Duration max, java.util.function.Predicate<JsonNode> ok,
      Path output) {
    return probe.awaitAssert(max, Duration.ofMillis(100), () -> {
      JsonNode s = Harness.status(admin);
      assertTrue(ok.test(s), () -> "status not reached yet: " + s + "\nservice output:\n" + Harness.read(output));
      return s;
    });
  }

  @Test
  void aSigkilledServiceResumesItsCampaignAndRunsEveryShutdownAndTheRebootOnce(@TempDir Path dir) throws Exception {
    // halted DPUs stay down until the reboot power-cycles them, as on a switch
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "K", 3, 4000, java.util.Optional.empty());
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
    assertEquals(5, second.exitValue(), Harness.read(secondOutput));
    assertTrue(Harness.read(secondOutput).contains("is in use by another process"), Harness.read(secondOutput));
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
    awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("phase").asText().equals("PostReboot"), output);
    agents.forEach(a -> a.agent().tell(io.github.dpucoordinator.agent.machine.DpuAgent.SimulatedPowerCycle.INSTANCE));
    JsonNode done = awaitStatus(probe, admin, Duration.ofSeconds(60), s ->
        s.path("lastCampaign").path("id").asText().equals(started.getCampaignId())
            && !s.path("lastCampaign").path("inFlight").asBoolean(), output);

    assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toString());
    assertFalse(Harness.read(output).contains("Exception"), Harness.read(output));
    for (AgentServer.Running a : agents) {
      assertEquals(1, Harness.agentState(kit.system(), a).shutdownRuns(), a.dpuId() + " ran its shutdown exactly once");
    }
    assertEquals(List.of("reboot"), Files.readAllLines(rebootLog), "the reboot command ran exactly once");
    assertTrue(Harness.read(output).contains("recovered in phase WaitForAcknowledgments"), Harness.read(output));
  }

  /**
   * Killed with SIGKILL at the moment the reboot action starts (after `RebootIssued` is journaled, before the action
   * does anything or returns): on restart the boot id is the same and no return is on record, so the service runs
   * the action again, once, and the campaign's record says so.
   */
  @Test
  void aServiceSigkilledBetweenJournalingTheRebootActionAndItsReturnRunsItOnceMoreAndSaysSo(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "J", 1, 100, java.util.Optional.of(Duration.ofMillis(200)));
    List<DpuEndpoint> dpus = Harness.endpoints(agents);
    Path dataDir = dir.resolve("data");
    Path rebootLog = dir.resolve("reboots.log");
    Path killed = dir.resolve("killed-once");
    Path output = dir.resolve("npu.out");
    int adminPort = Harness.freePort();
    NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
    TestProbe<Object> probe = kit.createTestProbe();
    // The action runs in a subshell of the shell the service starts: $PPID is the service, $$ that shell. The first
    // time, it kills both before doing anything, so neither the service nor the shell around it sees it return.
    String command = "if [ ! -e '" + killed + "' ]; then : > '" + killed + "'; kill -9 $PPID $$; exit 1; fi; "
        + "echo \"reboot $DPUCOORD_CAMPAIGN_ID\" >> '" + rebootLog + "'";
    Process first = NpuProcess.start(dataDir, adminPort, dpus, command, output, List.of(), java.util.Map.of());
    processes.add(first);
    awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("phase").asText().equals("Idle"), output);
    String id = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("kill at the action").build())
        .toCompletableFuture().get(10, TimeUnit.SECONDS).getCampaignId();
    assertTrue(first.waitFor(60, TimeUnit.SECONDS), "the reboot action killed the service");
    assertEquals(137, first.exitValue(), "killed by SIGKILL");
    assertTrue(Files.exists(killed));
    assertFalse(Files.exists(rebootLog), "the first run of the action did nothing");

    processes.add(NpuProcess.start(dataDir, adminPort, dpus, command, output, List.of(), java.util.Map.of()));
    JsonNode done = awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("lastCampaign").path("id").asText().equals(id)
        && !s.path("lastCampaign").path("inFlight").asBoolean(), output);

    assertEquals(List.of("reboot " + id), Files.readAllLines(rebootLog), "the interrupted action ran once more, and only once");
    assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toString());
    String reboot = done.path("lastCampaign").path("reboot").asText();
    assertTrue(reboot.contains("[run again: the service restarted on the same boot"), reboot);
    assertTrue(Harness.read(output).contains("running the reboot action again (dpu-coordinator.npu.reboot.after-interruption = run-again)"),
        Harness.read(output));
  }

  /**
   * A gNOI DPU acknowledges its HALT, the NPU service is killed with SIGKILL, and while it is down the DPU finishes
   * its shutdown and restarts (its RebootStatus back to not active, with a higher reboot count). The restarted
   * service recognises the completion from the count journaled with the acknowledgment: no halt timeout, no failure.
   */
  @Test
  void aGnoiDpuThatFinishedItsHaltWhileTheServiceWasDownIsRecognisedAsComplete(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "H", 1, 1500, java.util.Optional.of(Duration.ofMillis(200)));
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint("H0", "127.0.0.1", agents.get(0).port(), DpuEndpoint.GNOI));
    Path dataDir = dir.resolve("data");
    Path rebootLog = dir.resolve("reboots.log");
    Path output = dir.resolve("npu.out");
    int adminPort = Harness.freePort();
    NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
    TestProbe<Object> probe = kit.createTestProbe();
    Process first = startNpu(dataDir, adminPort, dpus, rebootLog, output);
    awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("phase").asText().equals("Idle"), output);
    String id = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("halt while down").build())
        .toCompletableFuture().get(10, TimeUnit.SECONDS).getCampaignId();
    awaitStatus(probe, admin, Duration.ofSeconds(10),
        s -> s.path("lastCampaign").path("dpus").get(0).path("state").asText().equals("ACKNOWLEDGED"), output);
    first.destroyForcibly(); // SIGKILL, with the DPU still halting
    assertTrue(first.waitFor(10, TimeUnit.SECONDS));
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(50), () -> {
      io.github.dpucoordinator.agent.machine.AgentSnapshot a = Harness.agentState(kit.system(), agents.get(0));
      assertTrue(a.shutdownRuns() == 1 && a.state() == io.github.dpucoordinator.agent.machine.AgentState.LISTENING, a.toString());
      return null;
    });

    startNpu(dataDir, adminPort, dpus, rebootLog, output);
    JsonNode done = awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("lastCampaign").path("id").asText().equals(id)
        && !s.path("lastCampaign").path("inFlight").asBoolean(), output);

    JsonNode dpu = done.path("lastCampaign").path("dpus").get(0);
    assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toString());
    assertEquals("ok", dpu.path("outcome").asText(), dpu.toString());
    assertFalse(Harness.read(output).contains("halt timeout"), Harness.read(output));
    assertEquals(List.of("reboot"), Files.readAllLines(rebootLog));
  }

  private static io.github.dpucoordinator.proto.notice.NoticeAnswer notify(DpuRebootNoticesClient dpuApi, String id, long planned,
      long hardDeadline, int round) throws Exception {
    return dpuApi.notifyReboot(DpuRebootNotice.newBuilder().setDpuId("P0").setNoticeId(id).setReason("firmware upgrade")
        .setPlannedUnixMs(planned).setHardDeadlineUnixMs(hardDeadline).setRound(round).build()).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /**
   * A DPU announces its own reboot; a hook says the workloads are not migrated yet, so the NPU postpones.
   * Killed with SIGKILL inside that postponement window, the service comes back with the same notice,
   * round and deadlines, counts the cap from the original planned time, and acknowledges once the hook
   * is satisfied; the DPU's reboot goes into its history as planned when it is back.
   */
  @Test
  void aSigkilledServiceResumesAPostponementWindowWithItsOriginalDeadlines(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "P", 1, 100);
    Path migrated = dir.resolve("migrated");
    Path conf = dir.resolve("npu.conf");
    Files.writeString(conf, "include classpath(\"application.conf\")\n"
        + "dpu-coordinator.npu.dpu-reboot.hooks = [{ name = \"migrate-workloads\", command = \"test -f '" + migrated
        + "' || { echo 'VMs still migrating'; exit 75; }\", timeout = 5s }]\n"
        + "dpu-coordinator.npu.dpu-reboot.postpone-for = 20s\n"
        + "dpu-coordinator.npu.dpu-reboot.max-postpone-total = 2m\n");
    Path dataDir = dir.resolve("data");
    Path output = dir.resolve("npu.out");
    int adminPort = Harness.freePort();
    int dpuApiPort = Harness.freePort();
    List<String> jvm = List.of("-Dconfig.file=" + conf);
    java.util.Map<String, String> env = java.util.Map.of("DPUCOORD_DPU_API_PORT", String.valueOf(dpuApiPort), "DPUCOORD_BOOT_WAIT", "60s");
    NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
    DpuRebootNoticesClient dpuApi = DpuRebootNoticesClient.create(org.apache.pekko.grpc.GrpcClientSettings
        .connectToServiceAt("127.0.0.1", dpuApiPort, kit.system()).withTls(false), kit.system());
    TestProbe<Object> probe = kit.createTestProbe();

    // the seed's protocol carries boot ids, so the NPU can tell the DPU is back even after a reboot quicker than one poll
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint("P0", "127.0.0.1", agents.get(0).port(), DpuEndpoint.REBOOT_SERVICE));
    Process first = startNpu(dataDir, adminPort, dpus, dir.resolve("reboots.log"), output, jvm, env);
    awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("phase").asText().equals("Idle"), output);
    long planned = System.currentTimeMillis();
    long hardDeadline = planned + 10 * 60_000;
    io.github.dpucoordinator.proto.notice.NoticeAnswer postponed = notify(dpuApi, "n-sigkill", planned, hardDeadline, 1);
    assertEquals(Decision.POSTPONE, postponed.getDecision(), postponed.toString());
    assertTrue(postponed.getReason().contains("VMs still migrating"), postponed.getReason());
    JsonNode before = awaitStatus(probe, admin, Duration.ofSeconds(10), s -> s.path("dpuReboots").size() == 1, output).path("dpuReboots").get(0);

    first.destroyForcibly(); // SIGKILL, inside the postponement window
    assertTrue(first.waitFor(10, TimeUnit.SECONDS));
    assertEquals(137, first.exitValue());

    startNpu(dataDir, adminPort, dpus, dir.resolve("reboots.log"), output, jvm, env);
    JsonNode after = awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("dpuReboots").size() == 1, output).path("dpuReboots").get(0);
    assertEquals(hardDeadline, after.path("hardDeadline").asLong());
    assertEquals(before.path("postponedUntil").asLong(), after.path("postponedUntil").asLong());
    assertEquals(postponed.getPostponeUntilUnixMs(), after.path("postponedUntil").asLong());
    assertEquals(planned, after.path("plannedAt").asLong());
    assertEquals("POSTPONE", after.path("decision").asText());
    assertTrue(Harness.read(output).contains("recovered DPU-initiated reboot (round 1"), Harness.read(output));

    // the DPU's next round: still migrating, postponed again within the cap counted from the original planned time
    io.github.dpucoordinator.proto.notice.NoticeAnswer again = notify(dpuApi, "n-sigkill", planned, hardDeadline, 2);
    assertEquals(Decision.POSTPONE, again.getDecision());
    assertTrue(again.getPostponeUntilUnixMs() <= planned + 2 * 60_000);
    Files.writeString(migrated, "done");
    assertEquals(Decision.ACK, notify(dpuApi, "n-sigkill", planned, hardDeadline, 3).getDecision());

    String leaving = Harness.agentState(kit.system(), agents.get(0)).bootId();
    assertTrue(dpuApi.rebootGoing(RebootGoingNotice.newBuilder().setDpuId("P0").setNoticeId("n-sigkill").setWhy("acknowledged")
        .setAtUnixMs(System.currentTimeMillis()).setBootId(leaving).build()).toCompletableFuture().get(10, TimeUnit.SECONDS).getExpectedBackByUnixMs() > 0);
    agents.get(0).agent().tell(io.github.dpucoordinator.agent.machine.DpuAgent.SimulatedPowerCycle.INSTANCE); // it rebooted and is back
    JsonNode done = awaitStatus(probe, admin, Duration.ofSeconds(30), s -> s.path("dpuReboots").size() == 0
        && s.path("history").path("P0").size() > 0, output);
    JsonNode entry = done.path("history").path("P0").get(0);
    assertEquals("planned dpu-reboot (DPU-initiated)", entry.path("cause").asText());
    assertEquals("ok", entry.path("outcome").asText(), entry.toString());
    assertTrue(entry.path("detail").asText().contains("3 round(s)"), entry.toString());
  }

  /**
   * Killed with SIGKILL while it waits for its DPUs to boot after the reboot, the service resumes the
   * boot wait with the same per-DPU deadlines, and finishes the campaign when the DPUs come back.
   */
  @Test
  void aSigkilledServiceResumesABootWaitWithItsOriginalDeadlines(@TempDir Path dir) throws Exception {
    // halted agents stay down until power-cycled: the boot wait has something to wait for
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "B", 2, 100, java.util.Optional.empty());
    Path dataDir = dir.resolve("data");
    Path output = dir.resolve("npu.out");
    Path rebootLog = dir.resolve("reboots.log");
    int adminPort = Harness.freePort();
    java.util.Map<String, String> env = java.util.Map.of("DPUCOORD_BOOT_WAIT", "120s");
    NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
    TestProbe<Object> probe = kit.createTestProbe();

    Process first = startNpu(dataDir, adminPort, Harness.endpoints(agents), rebootLog, output, List.of(), env);
    awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("phase").asText().equals("Idle"), output);
    StartCampaignResponse started = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("boot wait test").build())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(started.getAccepted(), started.getMessage());
    JsonNode waiting = awaitStatus(probe, admin, Duration.ofSeconds(30), s -> s.path("phase").asText().equals("PostReboot"), output);
    long deadline = waiting.path("lastCampaign").path("bootWaitDeadline").asLong();
    assertTrue(deadline > System.currentTimeMillis() + 60_000, "about 120 s ahead: " + deadline);

    first.destroyForcibly(); // SIGKILL, inside the boot wait
    assertTrue(first.waitFor(10, TimeUnit.SECONDS));

    startNpu(dataDir, adminPort, Harness.endpoints(agents), rebootLog, output, List.of(), env);
    JsonNode resumed = awaitStatus(probe, admin, Duration.ofSeconds(60), s -> s.path("phase").asText().equals("PostReboot"), output);
    assertEquals(deadline, resumed.path("lastCampaign").path("bootWaitDeadline").asLong(), "the same deadline, not a new one");
    assertTrue(Harness.read(output).contains("recovered in phase PostReboot"), Harness.read(output));
    assertEquals(List.of("reboot"), Files.readAllLines(rebootLog), "the reboot command is not run again");

    agents.forEach(a -> a.agent().tell(io.github.dpucoordinator.agent.machine.DpuAgent.SimulatedPowerCycle.INSTANCE));
    JsonNode done = awaitStatus(probe, admin, Duration.ofSeconds(30), s -> !s.path("lastCampaign").path("inFlight").asBoolean(), output);
    assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toString());
  }
}
