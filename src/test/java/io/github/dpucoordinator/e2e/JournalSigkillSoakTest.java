package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `dpuctl npu` is killed with SIGKILL at a random moment of each of 12 campaigns (-Ddpuctl.soak.campaigns; seeded, so a failure can
 * be replayed with -Ddpuctl.soak.seed=N), every fifth time in the quiet after the campaign's last writes, and
 * started again on the same data dir. After every restart the
 * service has recovered every event it had logged as journaled before the kill; at the end every campaign
 * has finished, no campaign ran the reboot command twice, none reported a success without running it, and
 * the journal has no gap.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JournalSigkillSoakTest {
  private static final int CAMPAIGNS = Integer.getInteger("dpuctl.soak.campaigns", 12);
  private static final long SEED = Long.getLong("dpuctl.soak.seed", 20261202L);
  /** Longest pause between a campaign's start and the kill: about one campaign here. */
  private static final int KILL_WITHIN_MS = 1200;
  private static final Pattern JOURNALED = Pattern.compile("journaled #(\\d+) ");

  private final ActorTestKit kit = ActorTestKit.create("soak", AppConfig.load());
  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void killServices() {
    processes.forEach(Process::destroyForcibly);
    processes.clear();
  }

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  @Timeout(value = 12, unit = TimeUnit.MINUTES)
  void everyEventReportedJournaledSurvivesASigkillAtARandomMomentOfEachCampaign(@TempDir Path dir) throws Exception {
    // two agents on the seed's protocol (which deduplicates by campaign id) and one on gNOI; halted agents come back by themselves
    List<AgentServer.Running> agents = new ArrayList<>(Harness.startAgents(kit.system(), "R", 2, 150, Optional.of(Duration.ofMillis(100))));
    agents.addAll(Harness.startAgents(kit.system(), "G", 1, 150, Optional.of(Duration.ofMillis(100))));
    List<DpuEndpoint> dpus = List.of(
        new DpuEndpoint("R0", "127.0.0.1", agents.get(0).port(), DpuEndpoint.REBOOT_SERVICE),
        new DpuEndpoint("R1", "127.0.0.1", agents.get(1).port(), DpuEndpoint.REBOOT_SERVICE),
        new DpuEndpoint("G0", "127.0.0.1", agents.get(2).port(), DpuEndpoint.GNOI));
    Path dataDir = dir.resolve("data");
    Path rebootLog = dir.resolve("reboots.log");
    int adminPort = Harness.freePort();
    NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
    TestProbe<Object> probe = kit.createTestProbe();
    Random random = new Random(SEED);
    Set<String> accepted = new HashSet<>();
    List<Long> killedAt = new ArrayList<>();

    int incarnation = 0;
    Path output = start(dir, dataDir, adminPort, dpus, rebootLog, incarnation);
    for (int i = 0; i < CAMPAIGNS; i++) {
      Path out = output;
      long cycle = System.nanoTime();
      awaitStatus(probe, admin, s -> s.path("phase").asText().equals("Idle"), out); // a resumed campaign finishes first
      long idle = System.nanoTime();
      StartCampaignResponse started = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("soak " + i).build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(started.getAccepted(), started.getMessage());
      accepted.add(started.getCampaignId());
      if (i % 5 == 4) {
        // every fifth: after the campaign, in the quiet that follows its last writes (as in the loss once reported)
        awaitStatus(probe, admin, st -> st.path("phase").asText().equals("Idle"), out);
      }
      long pause = random.nextInt(KILL_WITHIN_MS + 1);
      killedAt.add(pause);
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(pause)); // the kill's moment: real time is what is under test

      Process npu = processes.remove(processes.size() - 1);
      npu.destroyForcibly(); // SIGKILL
      assertTrue(npu.waitFor(10, TimeUnit.SECONDS));
      long reported = lastJournaled(output);
      // the journal as the kill left it, before the restart opens (and repairs) it: a loss can then be told apart as
      // the database's (the events are not in the file) or the service's (they are, but were not recovered)
      Path asKilled = dir.resolve("as-killed.mv.db");
      Files.copy(dataDir.resolve("journal.mv.db"), asKilled, java.nio.file.StandardCopyOption.REPLACE_EXISTING);

      long killed = System.nanoTime();
      output = start(dir, dataDir, adminPort, dpus, rebootLog, ++incarnation);
      Path restarted = output;
      probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(50), () -> {
        assertTrue(Harness.read(restarted).contains("NPU service up"), Harness.read(restarted));
        return null;
      });
      admin.close(); // a fresh client, not one in reconnect backoff after the kill
      admin = Harness.admin(kit.system(), adminPort);
      JsonNode recovered = awaitStatus(probe, admin, s -> true, restarted);
      System.err.printf("soak: campaign %d %s killed %d ms after its start in phase %s; #%d logged journaled, %d recovered; "
              + "cycle: idle %d ms, restart %d ms%n", i, started.getCampaignId(), pause, recovered.path("phase").asText(), reported,
          recovered.path("journalEvents").asLong(), (idle - cycle) / 1_000_000, (System.nanoTime() - killed) / 1_000_000);
      if (recovered.path("journalEvents").asLong() < reported) {
        fail("campaign " + i + " (" + started.getCampaignId() + ") killed " + pause + " ms after its start: the service had logged event #"
            + reported + " as journaled, the restarted service recovered " + recovered.path("journalEvents").asLong() + " (seed " + SEED
            + "); the file as the kill left it holds " + eventsIn(asKilled, dir.resolve("as-killed-opened")));
      }
    }
    Path last = output;
    JsonNode end = awaitStatus(probe, admin, s -> s.path("phase").asText().equals("Idle"), last);

    // every campaign finished, each with an outcome
    Map<String, String> outcomes = new java.util.HashMap<>();
    end.path("recent").forEach(r -> outcomes.put(r.path("id").asText(), r.path("outcome").asText()));
    for (String id : accepted) {
      assertTrue(Set.of("success", "degraded").contains(outcomes.get(id)), id + " finished: " + outcomes.get(id) + " in " + end);
    }
    // the reboot command never ran twice for one campaign, and a campaign reported a success only if it ran:
    // one killed between journaling the action and its return runs it again on the same boot, unless its return file says it returned
    List<String> reboots = Files.exists(rebootLog) ? Files.readAllLines(rebootLog) : List.of();
    assertEquals(new HashSet<>(reboots).size(), reboots.size(), "a campaign's reboot command ran twice: " + reboots);
    for (String id : accepted) {
      if ("success".equals(outcomes.get(id))) {
        assertTrue(reboots.contains("reboot " + id), id + " reported success but its reboot command never ran: " + reboots);
      }
    }
    // the seed's protocol deduplicates by campaign id: no shutdown ran twice for one campaign
    for (AgentServer.Running a : agents.subList(0, 2)) {
      assertTrue(Harness.agentState(kit.system(), a).shutdownRuns() <= accepted.size(), a.dpuId() + " ran more shutdowns than campaigns");
    }

    // the journal, read after a clean stop, has every sequence number from 1 on
    Process npu = processes.remove(processes.size() - 1);
    npu.destroy(); // SIGTERM: a clean stop releases the file
    assertTrue(npu.waitFor(30, TimeUnit.SECONDS));
    long events = end.path("journalEvents").asLong();
    try (Connection c = DriverManager.getConnection(AppConfig.h2Url(dataDir), "sa", "");
        ResultSet r = c.createStatement().executeQuery(
            "select count(*), max(\"sequence_number\") from \"event_journal\" where \"persistence_id\" = 'npu-coordinator'")) {
      assertTrue(r.next());
      assertEquals(r.getLong(2), r.getLong(1), "no gap in the journal");
      assertTrue(r.getLong(2) >= events);
    }
    assertFalse(killedAt.isEmpty());
  }

  private Path start(Path dir, Path dataDir, int adminPort, List<DpuEndpoint> dpus, Path rebootLog, int incarnation) throws Exception {
    Path output = dir.resolve("npu-" + incarnation + ".out");
    List<String> jvm = new ArrayList<>(List.of("-Ddpu-coordinator.npu.recent-campaigns=" + (CAMPAIGNS + 10)));
    String url = System.getProperty("dpuctl.soak.url"); // e.g. to compare with another journal URL: {dir} is the data dir
    if (url != null) {
      jvm.add("-D" + AppConfig.DB_URL_KEY + "=" + url.replace("{dir}", dataDir.toString()));
    }
    processes.add(NpuProcess.start(dataDir, adminPort, dpus, NpuProcess.recordingRebootCommand(rebootLog), output, jvm,
        // a short halt timeout: a gNOI DPU that halted and came back while the service was down cannot be told from
        // one that never halted (gNOI has no campaign ids), and is waited for until then
        Map.of("DPUCTL_JOURNAL_LOG_LEVEL", "DEBUG", "DPUCOORD_GNOI_POLL_INTERVAL", "200ms", "DPUCOORD_BOOT_WAIT", "15s",
            "DPUCOORD_HALT_TIMEOUT", "3s")));
    return output;
  }

  /** The campaign entity's events in a copy of a journal file, and the highest sequence number (opening repairs a copy of it). */
  private static String eventsIn(Path file, Path opened) throws Exception {
    Files.copy(file, Path.of(opened + ".mv.db"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    try (Connection c = DriverManager.getConnection("jdbc:h2:" + opened, "sa", "");
        ResultSet r = c.createStatement().executeQuery(
            "select count(*), max(\"sequence_number\") from \"event_journal\" where \"persistence_id\" = 'npu-coordinator'")) {
      assertTrue(r.next());
      return r.getLong(1) + " events of npu-coordinator, up to #" + r.getLong(2);
    }
  }

  /** The highest sequence number the service logged as journaled (0 if none). */
  private static long lastJournaled(Path output) throws Exception {
    long last = 0;
    for (String line : Files.readAllLines(output)) {
      Matcher m = JOURNALED.matcher(line);
      if (m.find()) {
        last = Math.max(last, Long.parseLong(m.group(1)));
      }
    }
    return last;
  }

  private JsonNode awaitStatus(TestProbe<?> probe, NpuAdminClient admin, java.util.function.Predicate<JsonNode> ok, Path output) {
    return probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(50), () -> {
      JsonNode s;
      try {
        s = Harness.status(admin);
      } catch (Exception e) {
        throw new AssertionError("admin API not answering yet: " + e.getMessage() + "\nservice output:\n" + Harness.read(output), e);
      }
      assertTrue(ok.test(s), () -> "status not reached yet: " + s.path("phase") + "\nservice output:\n" + Harness.read(output));
      return s;
    });
  }
}
