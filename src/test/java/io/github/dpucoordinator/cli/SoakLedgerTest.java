package io.github.dpucoordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.common.Json;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Each invariant of the soak, shown a history that breaks it: it says so, with the operation and the kill. */
class SoakLedgerTest {

  private static SoakLedger ledger(String history) throws Exception {
    SoakLedger l = new SoakLedger(42);
    l.finalStatus = Json.read("{\"phase\":\"Idle\",\"history\":" + history + "}");
    return l;
  }

  private static Map<String, List<String>> violations(SoakLedger l) {
    return l.check().stream().collect(Collectors.toMap(SoakLedger.Invariant::name, SoakLedger.Invariant::violations, (a, b) -> a,
        LinkedHashMap::new));
  }

  private static JsonNode campaign(long ack, long rebootAt, long bootWait, long finished) throws Exception {
    return Json.read("{\"lastCampaign\":{\"id\":\"c1\",\"ackDeadline\":" + ack + ",\"rebootAt\":" + rebootAt + ",\"bootWaitDeadline\":"
        + bootWait + ",\"finishedAt\":" + finished + ",\"reboot\":\"ran\"}}");
  }

  @Test
  void aCleanHistoryBreaksNothing() throws Exception {
    SoakLedger l = ledger("{\"D0\":[{\"campaignId\":\"c1\",\"outcome\":\"ok\"}],\"D1\":[{\"campaignId\":\"c1\",\"outcome\":\"failed\"}]}");
    SoakLedger.Op op = new SoakLedger.Op(1, "campaign", "c1", List.of("D0", "D1"));
    op.outcome = "degraded";
    op.runs = Map.of("D0", 1L, "D1", 0L);
    op.kill = new SoakLedger.Kill(1, 300, false, "WaitForAcknowledgments", "WaitForAcknowledgments", 7, 7, 2000);
    l.ops.add(op);
    l.kills.add(op.kill);
    l.saw(campaign(0, 0, 0, 0)); // before WaitForAcknowledgments: no deadline yet, which is no move
    l.saw(campaign(10_000, 9_000, 30_000, 20_000));
    l.rebootLines = List.of("reboot c1");
    l.forceLines = List.of("force c1 D1");
    violations(l).forEach((name, v) -> assertTrue(v.isEmpty(), name + ": " + v));
  }

  @Test
  void eachBrokenInvariantIsNamedWithTheOperationAndTheKill() throws Exception {
    SoakLedger l = ledger("{\"D0\":[{\"campaignId\":\"c1\",\"outcome\":\"ok\"}],\"D1\":[]}");
    SoakLedger.Op op = new SoakLedger.Op(1, "campaign", "c1", List.of("D0", "D1"));
    op.runs = Map.of("D0", 2L, "D1", 0L); // D0 shut down twice
    op.kill = new SoakLedger.Kill(1, 450, false, "Reboot", "PostReboot", 12, 11, 2000); // #12 journaled, 11 recovered
    l.ops.add(op); // and no outcome: it never ended
    l.kills.add(op.kill);
    l.saw(campaign(10_000, 9_000, 30_000, 20_000));
    l.saw(campaign(16_000, 15_500, 40_000, 45_000)); // a restart moved the deadlines, and it finished late
    l.rebootLines = List.of("reboot c1", "reboot c1");
    l.forceLines = List.of("force c1 D0"); // forced although it shut down gracefully
    SoakLedger.Op upgrade = new SoakLedger.Op(2, "container-upgrade", "1.2", List.of());
    upgrade.outcome = "upgraded";
    upgrade.container = "the NPU lists [RUNNING offload/soakdb:1.1, RUNNING offload/soakdb:1.2], not one RUNNING offload/soakdb:1.2";
    l.ops.add(upgrade);
    Map<String, List<String>> v = violations(l);
    assertEquals(List.of("every-operation-ended", "one-shutdown-per-halt", "reboot-action-once", "no-force-after-graceful",
        "history-complete", "deadlines-kept", "journal-recovered", "offloaded-container-converged"), List.copyOf(v.keySet()));
    v.forEach((name, list) -> assertTrue(!list.isEmpty(), name + " saw its violation"));
    String kill = "kill 1 at +450 ms in Reboot, resumed in PostReboot";
    assertTrue(v.get("one-shutdown-per-halt").get(0).contains("D0 ran 2 shutdowns") && v.get("one-shutdown-per-halt").get(0).contains(kill),
        v.toString());
    assertTrue(v.get("reboot-action-once").get(0).contains("ran 2 times"), v.toString());
    assertTrue(v.get("history-complete").get(0).contains("no entry in D1's history"), v.toString());
    assertTrue(v.get("deadlines-kept").get(0).contains("a deadline moved"), v.toString());
    assertTrue(v.get("deadlines-kept").stream().anyMatch(s -> s.contains("5000 ms past its boot-wait deadline")), v.toString());
    assertTrue(v.get("journal-recovered").get(0).contains("event #12 was logged as journaled, 11 recovered"), v.toString());
    assertTrue(v.get("offloaded-container-converged").get(0).startsWith("#2 container-upgrade 1.2: the NPU lists ["), v.toString());
  }
}
