package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.cli.CliRunner;
import io.github.dpucoordinator.common.Json;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal on a real PostgreSQL server (Debian's, started privately on a temporary directory and port): the soak's
 * kills with every invariant holding, and a server restart in the middle of a campaign, which costs a delay, not the
 * campaign. Only the journal URL and user are configured; the profile and driver follow from the URL.
 *
 * <p>Found on the way, and left open: a DPU that finishes its shutdown and comes back by itself while the journal cannot
 * take its acknowledgment is not recognised as done when the campaign resumes (its evidence was in the lost event), and
 * over gNOI it may be halted twice. On a switch a halted DPU stays down until the NPU's reboot, as here. And a DPU
 * whose halt deadline passes during the outage is counted as failed, although it completed meanwhile: the deadline is
 * checked before the DPU is asked again.
 */
@Tag("needs-postgres")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresJournalTest {
  private final ActorTestKit kit = ActorTestKit.create("pg-journal", io.github.dpucoordinator.common.AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void theSoaksKillsLeaveEveryInvariantHoldingWithTheJournalOnPostgres(@TempDir Path dir) throws Exception {
    try (PgServer pg = PgServer.start()) {
      CliRunner.Run run = CliRunner.dpuctl("soak", "--kills", "3", "--seed", "9", "--dir", dir.toString(), "--journal-url", pg.url(),
          "--journal-user", PgServer.USER, "--json");
      JsonNode r = Json.read(run.out());
      assertEquals(0, run.exit(), r.toPrettyString() + run.err());
      assertEquals(3, r.path("kills").asInt());
      r.path("invariants").forEach(i -> assertEquals(0, i.path("violations").size(), i.toString()));
      // the journal really was PostgreSQL's: the data dir holds no H2 file, the server holds the events, without a gap
      assertTrue(Files.notExists(dir.resolve("data").resolve("journal.mv.db")));
      try (Connection c = DriverManager.getConnection(pg.url(), PgServer.USER, "");
          ResultSet rs = c.createStatement().executeQuery("select persistence_id, count(*), max(sequence_number) from event_journal "
              + "group by persistence_id")) {
        int entities = 0;
        while (rs.next()) {
          entities++;
          assertEquals(rs.getLong(3), rs.getLong(2), "no gap in " + rs.getString(1) + "'s events");
        }
        assertTrue(entities >= 1, "entities journaled: " + entities);
      }
    }
  }

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void aPostgresRestartInTheMiddleOfACampaignCostsADelayNotTheCampaign(@TempDir Path dir) throws Exception {
    // halted DPUs stay down until the NPU's reboot power-cycles them, as on a switch
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "P", 3, 2500, Optional.empty());
    // the seed's protocol: its campaign ids let a DPU that finished while the journal was down be told apart (see the class doc)
    List<DpuEndpoint> dpus = agents.stream().map(a -> new DpuEndpoint(a.dpuId(), "127.0.0.1", a.port(), DpuEndpoint.REBOOT_SERVICE)).toList();
    Path output = dir.resolve("npu.out");
    Path rebootLog = dir.resolve("reboots.log");
    int adminPort = Harness.freePort();
    TestProbe<Object> probe = kit.createTestProbe();
    try (PgServer pg = PgServer.start()) {
      Process npu = NpuProcess.start(dir.resolve("data"), adminPort, dpus, NpuProcess.recordingRebootCommand(rebootLog), output, List.of(),
          // deadlines longer than the outage (pekko's 10 s circuit breaker and the restart backoff make it 10-20 s): a DPU
          // whose halt deadline passes while its completion cannot be journaled is counted as failed (see the class doc)
          Map.of("DPUCOORD_JOURNAL_URL", pg.url(), "DPUCOORD_JOURNAL_USER", PgServer.USER, "DPUCOORD_BOOT_WAIT", "30s",
              "DPUCOORD_HALT_TIMEOUT", "60s", "DPUCOORD_ACK_DEADLINE", "90s"));
      try {
        NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
        await(probe, admin, output, pg, s -> s.path("phase").asText().equals("Idle"));
        StartCampaignResponse started = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("pg restart").build())
            .toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertTrue(started.getAccepted(), started.getMessage());
        await(probe, admin, output, pg, s -> s.path("phase").asText().equals("WaitForAcknowledgments"));

        pg.stop(); // the DPUs go on shutting down meanwhile; their news cannot be journaled
        JsonNode failing = await(probe, admin, output, pg, s -> s.path("journalFailures").size() > 0);
        assertEquals("npu-coordinator", failing.path("journalFailures").get(0).path("entity").asText(), failing.toString());
        assertTrue(Harness.read(output).contains("JOURNAL WRITE FAILED for npu-coordinator"), Harness.read(output));
        pg.begin();

        await(probe, admin, output, pg, s -> s.path("phase").asText().equals("PostReboot"));
        agents.forEach(a -> a.agent().tell(io.github.dpucoordinator.agent.machine.DpuAgent.SimulatedPowerCycle.INSTANCE));
        JsonNode done = await(probe, admin, output, pg, s -> s.path("lastCampaign").path("id").asText().equals(started.getCampaignId())
            && !s.path("lastCampaign").path("inFlight").asBoolean());
        assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.toPrettyString());
        for (AgentServer.Running a : agents) {
          assertEquals(1, Harness.agentState(kit.system(), a).shutdownRuns(), a.dpuId() + " shut down once");
        }
        assertEquals(List.of("reboot " + started.getCampaignId()), Files.readAllLines(rebootLog), "the reboot command ran once");
        assertTrue(npu.isAlive(), "the service kept running");
        assertEquals(0, done.path("journalFailures").size(), "writes succeed again: " + done.path("journalFailures"));
        assertTrue(Harness.read(output).contains("journal writes of npu-coordinator succeed again"), Harness.read(output));
      } finally {
        npu.destroyForcibly();
        npu.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private JsonNode await(TestProbe<?> probe, NpuAdminClient admin, Path output, PgServer pg, java.util.function.Predicate<JsonNode> ok) {
    return Harness.awaitStatus(probe, admin, Duration.ofSeconds(90), ok, () -> Harness.read(output) + "\n--- PostgreSQL ---\n" + pg.log());
  }

}
