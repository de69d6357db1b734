package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data dir written by the layout before the NPU's classes moved into packages by feature (kept in the test
 * resources: a degraded campaign, then a module shutdown and startup of DPU0) is read by `dpuctl npu` as it was.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FlatLayoutJournalTest {
  private final ActorTestKit kit = ActorTestKit.create("flat-journal", io.github.dpucoordinator.common.AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void theServiceReadsAJournalWrittenByTheFlatLayout(@TempDir Path dir) throws Exception {
    Path dataDir = Files.createDirectories(dir.resolve("data"));
    Files.copy(Path.of("src/test/resources/journals/flat-layout/journal.mv.db"), dataDir.resolve("journal.mv.db"));
    Path output = dir.resolve("npu.out");
    int adminPort = Harness.freePort();
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint("DPU0", "127.0.0.1", Harness.freePort(), DpuEndpoint.REBOOT_SERVICE),
        new DpuEndpoint("DPU1", "127.0.0.1", Harness.freePort(), DpuEndpoint.REBOOT_SERVICE));
    Process npu = NpuProcess.start(dataDir, adminPort, dpus, "true", output, List.of(), Map.of());
    try {
      NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
      JsonNode s = kit.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
        try {
          return Harness.status(admin);
        } catch (Exception notUpYet) {
          throw new AssertionError("admin API not up yet: " + notUpYet + "\nservice output:\n" + Harness.read(output));
        }
      });
      assertEquals("Idle", s.path("phase").asText());
      JsonNode last = s.path("lastCampaign");
      assertEquals("c20261204T214152-4d62", last.path("id").asText());
      assertEquals("degraded", last.path("outcome").asText());
      assertEquals("before the package move", last.path("reason").asText());
      assertEquals("ok", last.path("dpus").path(0).path("outcome").asText(), last.toString());
      assertEquals("failed", last.path("dpus").path(1).path("outcome").asText(), last.toString());
      JsonNode dpu0 = s.path("history").path("DPU0");
      assertEquals(3, dpu0.size(), dpu0.toString());
      assertTrue(dpu0.path(1).path("cause").asText().contains("shutdown"), dpu0.toString());
      assertTrue(dpu0.path(2).path("cause").asText().contains("startup"), dpu0.toString());
      assertTrue(npu.isAlive(), Harness.read(output));
    } finally {
      npu.destroy();
      npu.waitFor();
    }
  }

  /**
   * A data dir of the last layout before module transitions and DPU-initiated reboots had entities of their own, left by
   * a SIGKILL with both open: DPU1's own reboot, postponed by the NPU's hook, and a module shutdown of DPU0 (unreachable)
   * just started. Both are handed to their entities once and go on there: the notice shows (or, once its hard deadline
   * has passed, ends in DPU1's history) with its id and reason; the shutdown halts in vain and powers DPU0 off, ending
   * under its own id; nothing of either is lost.
   */
  @Test
  void openItemsOfAJournalWrittenBeforeTheSplitGoOnInTheirOwnEntities(@TempDir Path dir) throws Exception {
    Path dataDir = Files.createDirectories(dir.resolve("data"));
    Files.copy(Path.of("src/test/resources/journals/pre-split-open/journal.mv.db"), dataDir.resolve("journal.mv.db"));
    Path output = dir.resolve("npu.out");
    int adminPort = Harness.freePort();
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint("DPU0", "127.0.0.1", Harness.freePort(), DpuEndpoint.GNOI),
        new DpuEndpoint("DPU1", "127.0.0.1", Harness.freePort(), DpuEndpoint.GNOI));
    Process npu = NpuProcess.start(dataDir, adminPort, dpus, "true", output, List.of(), Map.of());
    String shutdown = "m20261205T065014-ae45";
    try {
      NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
      JsonNode first = kit.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
        try {
          return Harness.status(admin);
        } catch (Exception notUpYet) {
          throw new AssertionError("admin API not up yet: " + notUpYet + "\nservice output:\n" + Harness.read(output));
        }
      });
      assertEquals("Idle", first.path("phase").asText(), first.toString());
      // DPU1's own reboot goes on in the notice entity: open until its hard deadline (2026-12-05T07:20:10Z), and after it
      // taken as gone and, since nothing answers for DPU1, ended in its history after the boot wait (20 s here)
      String notice = "n20261205T065010-fb18";
      kit.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
        JsonNode s = Harness.status(admin);
        JsonNode open = s.path("dpuReboots").path(0);
        JsonNode dpu1 = s.path("history").path("DPU1");
        JsonNode ended = dpu1.path(dpu1.size() - 1);
        boolean isOpen = notice.equals(open.path("id").asText()) && "firmware upgrade".equals(open.path("reason").asText())
            && "migrate-vms: exit 75".equals(open.path("answer").asText());
        boolean hasEnded = notice.equals(ended.path("campaignId").asText()) && "firmware upgrade".equals(ended.path("reason").asText());
        assertTrue(isOpen || hasEnded, s.toString());
        return null;
      });
      // DPU0 does not answer its HALT: the shutdown gives up on it and powers it off anyway, under its own id
      JsonNode done = kit.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
        JsonNode s = Harness.status(admin);
        assertEquals("down", s.path("modules").path(0).path("adminState").asText(), s.path("modules").toString());
        return s;
      });
      JsonNode dpu0 = done.path("history").path("DPU0");
      assertEquals(shutdown, dpu0.path(dpu0.size() - 1).path("campaignId").asText(), dpu0.toString());
      assertTrue(dpu0.path(dpu0.size() - 1).path("reason").asText().contains("replace a fan"), dpu0.toString());
      assertTrue(npu.isAlive(), Harness.read(output));
    } finally {
      npu.destroy();
      npu.waitFor();
    }
    // each entity journaled what it took over once, and the coordinator that it handed it over
    List<String> ids = new java.util.ArrayList<>();
    try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:h2:file:" + dataDir.resolve("journal"), "sa", "");
        java.sql.ResultSet rs = c.createStatement().executeQuery("SELECT \"persistence_id\", \"event_ser_manifest\" FROM \"event_journal\" "
            + "WHERE \"event_ser_manifest\" LIKE '%Legacy%' ORDER BY \"persistence_id\"")) {
      while (rs.next()) {
        ids.add(rs.getString(1) + " " + rs.getString(2).substring(rs.getString(2).lastIndexOf('.') + 1));
      }
    }
    assertEquals(List.of("npu-coordinator CampaignEvent$LegacyHandedOver", "npu-modules ModuleEvent$LegacyAdopted",
        "npu-notices NoticeEvent$LegacyAdopted"), ids);
  }

  @Test
  void aJournalHoldingAnEventThisVersionDoesNotKnowIsRefusedWithExit5AndKeptAsItWas(@TempDir Path dir) throws Exception {
    Path dataDir = Files.createDirectories(dir.resolve("data"));
    Path journal = dataDir.resolve("journal.mv.db");
    Files.copy(Path.of("src/test/resources/journals/flat-layout/journal.mv.db"), journal);
    String unknown = "io.github.dpucoordinator.npu.coordinator.CampaignEvent$FromANewerVersion";
    try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:h2:file:" + dataDir.resolve("journal"), "sa", "");
        java.sql.Statement st = c.createStatement()) {
      assertEquals(1, st.executeUpdate("UPDATE \"event_journal\" SET \"event_ser_manifest\" = '" + unknown
          + "' WHERE \"sequence_number\" = (SELECT MAX(\"sequence_number\") FROM \"event_journal\")"));
    }
    List<String> before = manifests(dataDir);
    Path output = dir.resolve("npu.out");
    Process npu = NpuProcess.start(dataDir, Harness.freePort(), List.of(), "true", output, List.of(), Map.of());
    try {
      assertTrue(npu.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "still running:\n" + Harness.read(output));
      String out = Harness.read(output);
      assertEquals(5, npu.exitValue(), out);
      assertTrue(out.contains("was written by another version of dpu-coordinator"), out);
      assertTrue(out.contains(unknown), out);
      assertTrue(out.contains("move the data dir aside"), out);
      assertEquals(before, manifests(dataDir), "every event is still there, as it was");
      assertTrue(before.contains(unknown));
    } finally {
      npu.destroyForcibly();
    }
  }

  /** Every event of the journal in {@code dataDir}, by sequence number: its class as journaled. */
  private static List<String> manifests(Path dataDir) throws Exception {
    List<String> found = new java.util.ArrayList<>();
    try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:h2:file:" + dataDir.resolve("journal"), "sa", "");
        java.sql.ResultSet rs = c.createStatement().executeQuery(
            "SELECT \"event_ser_manifest\" FROM \"event_journal\" ORDER BY \"sequence_number\"")) {
      while (rs.next()) {
        found.add(rs.getString(1));
      }
    }
    return found;
  }
}
