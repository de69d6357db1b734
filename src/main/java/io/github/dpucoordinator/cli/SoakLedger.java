package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the soak saw: each operation it drove (with the shutdowns each DPU ran meanwhile), each kill, each
 * campaign as the status showed it over time, and at the end the service's DPU histories and the commands its
 * actions ran. {@link #check} turns that into the invariants, each with how often it was checked and where it
 * did not hold.
 */
final class SoakLedger {
  /** A wait may end this much after its journaled deadline (the NPU's own reaction and a status poll). */
  static final long DEADLINE_SLACK_MS = 3_000;
  /** Per-DPU history outcomes that mean the DPU shut down gracefully in that campaign or transition. */
  private static final Set<String> GRACEFUL = Set.of("ok", "degraded");

  /** One operation: kind is campaign, module-shutdown, module-startup, dpu-reboot or container-upgrade; {@code dpus} those it concerns. */
  static final class Op {
    final int n;
    final String kind;
    final String id;
    final List<String> dpus;
    Map<String, Long> runs = Map.of();
    /** A container upgrade: "" when it converged, else what did not hold; null for other kinds. */
    String container;
    String outcome = "";
    /** What was last seen of one that did not end (a container upgrade: the offloader's phase, tag, health and detail). */
    String lastSeen = "";
    /** From its start until the status showed its end (with a kill: the restart included). */
    long millis;
    Kill kill;

    Op(int n, String kind, String id, List<String> dpus) {
      this.n = n;
      this.kind = kind;
      this.id = id;
      this.dpus = List.copyOf(dpus);
    }

    String describe() {
      return "#" + n + " " + kind + " " + id + (kill == null ? "" : " (" + kill.describe() + ")");
    }
  }

  /** A SIGKILL: {@code afterMillis} from the operation's start; what the log said was journaled and what came back. */
  record Kill(int n, long afterMillis, boolean quiet, String during, String phaseAfter, long journaledLogged, long recovered,
      long restartMillis) {
    String describe() {
      return "kill " + n + " at +" + afterMillis + " ms" + (quiet ? " after its end" : "") + " in " + during + ", resumed in " + phaseAfter;
    }
  }

  /** A campaign as each status showed it. */
  static final class CampaignSeen {
    final List<Long> ackDeadlines = new ArrayList<>();
    final List<Long> bootWaitDeadlines = new ArrayList<>();
    JsonNode last;
  }

  /** One invariant: what it says, how many times it was checked, and each time it did not hold. */
  record Invariant(String name, String says, int checked, List<String> violations) {}

  final long seed;
  final List<Op> ops = new ArrayList<>();
  final List<Kill> kills = new ArrayList<>();
  final Map<String, CampaignSeen> campaigns = new LinkedHashMap<>();
  JsonNode finalStatus;
  List<String> rebootLines = List.of();
  List<String> forceLines = List.of();

  SoakLedger(long seed) {
    this.seed = seed;
  }

  /** Notes a status document: the deadlines of the campaign it shows. */
  void saw(JsonNode status) {
    JsonNode c = status.path("lastCampaign");
    if (c.isMissingNode() || c.isNull()) {
      return;
    }
    CampaignSeen seen = campaigns.computeIfAbsent(c.path("id").asText(), k -> new CampaignSeen());
    if (c.path("ackDeadline").asLong() > 0) { // 0 until the campaign enters WaitForAcknowledgments
      seen.ackDeadlines.add(c.path("ackDeadline").asLong());
    }
    if (c.path("bootWaitDeadline").asLong() > 0) {
      seen.bootWaitDeadlines.add(c.path("bootWaitDeadline").asLong());
    }
    seen.last = c;
  }

  List<Invariant> check() {
    Map<String, Map<String, JsonNode>> history = new HashMap<>(); // DPU -> id -> entry
    finalStatus.path("history").fields().forEachRemaining(e -> {
      Map<String, JsonNode> byId = new HashMap<>();
      e.getValue().forEach(h -> byId.put(h.path("campaignId").asText(), h));
      history.put(e.getKey(), byId);
    });
    return List.of(ended(), oneShutdownPerHalt(history), rebootActionOnce(), noForceAfterGraceful(history), historyComplete(history),
        deadlinesKept(), journalRecovered(), containerConverged());
  }

  private Invariant containerConverged() {
    List<String> bad = new ArrayList<>();
    ops.stream().filter(o -> o.container != null && !o.container.isEmpty()).forEach(o -> bad.add(o.describe() + ": " + o.container));
    return new Invariant("offloaded-container-converged", "after each upgrade of G0's offloaded container the NPU ran it exactly once, "
        + "at the new version, and the offloader started that upgrade once", (int) ops.stream().filter(o -> o.container != null).count(), bad);
  }

  private Invariant ended() {
    List<String> bad = new ArrayList<>();
    ops.stream().filter(o -> o.outcome.isEmpty()).forEach(o -> bad.add(o.describe() + " did not reach an end"
        + (o.lastSeen.isEmpty() ? "" : "; last seen: " + o.lastSeen)));
    return new Invariant("every-operation-ended", "every campaign, module transition and DPU reboot reached an end", ops.size(), bad);
  }

  private Invariant oneShutdownPerHalt(Map<String, Map<String, JsonNode>> history) {
    List<String> bad = new ArrayList<>();
    int checked = 0;
    for (Op o : ops) {
      for (Map.Entry<String, Long> r : o.runs.entrySet()) {
        checked++;
        String dpu = r.getKey();
        long runs = r.getValue();
        JsonNode entry = history.getOrDefault(dpu, Map.of()).get(o.id);
        boolean halted = o.dpus.contains(dpu) && (o.kind.equals("dpu-reboot")
            || (!o.kind.equals("module-startup") && entry != null && GRACEFUL.contains(entry.path("outcome").asText())));
        boolean mayRun = o.dpus.contains(dpu) && !o.kind.equals("module-startup");
        if (runs > 1 || (halted && runs != 1) || (!mayRun && runs != 0)) {
          bad.add(o.describe() + ": " + dpu + " ran " + runs + " shutdowns (" + (halted ? "halted once" : mayRun ? "at most one" : "none")
              + " expected); its history entry: " + entry);
        }
      }
    }
    return new Invariant("one-shutdown-per-halt", "each DPU ran exactly one shutdown per operation that halted it, none otherwise", checked, bad);
  }

  private Invariant rebootActionOnce() {
    List<String> bad = new ArrayList<>();
    int checked = 0;
    for (Op o : ops) {
      if (!o.kind.equals("campaign")) {
        continue;
      }
      checked++;
      long runs = rebootLines.stream().filter(l -> l.equals("reboot " + o.id)).count();
      CampaignSeen seen = campaigns.get(o.id);
      boolean issued = seen != null && seen.last.path("rebootAt").asLong() > 0;
      if (runs != (issued ? 1 : 0)) {
        bad.add(o.describe() + ": the reboot action ran " + runs + " times (" + (issued ? "issued" : "never issued") + "); campaign: "
            + (seen == null ? "never seen" : seen.last.path("reboot").asText()));
      }
    }
    return new Invariant("reboot-action-once", "the NPU's reboot action ran exactly once per campaign that issued it (the host's boot id "
        + "did not change, so a re-run would count)", checked, bad);
  }

  private Invariant noForceAfterGraceful(Map<String, Map<String, JsonNode>> history) {
    List<String> bad = new ArrayList<>();
    for (String line : forceLines) {
      String[] f = line.split(" ");
      JsonNode entry = f.length < 3 ? null : history.getOrDefault(f[2], Map.of()).get(f[1]);
      if (entry == null || GRACEFUL.contains(entry.path("outcome").asText())) {
        bad.add("force action '" + line + "' against a DPU whose history says: " + entry + opOf(f.length < 2 ? "" : f[1]));
      }
    }
    return new Invariant("no-force-after-graceful", "no force action ran against a DPU that shut down gracefully", forceLines.size(), bad);
  }

  private Invariant historyComplete(Map<String, Map<String, JsonNode>> history) {
    List<String> bad = new ArrayList<>();
    int checked = 0;
    for (Op o : ops) {
      for (String dpu : o.dpus) {
        checked++;
        if (!history.getOrDefault(dpu, Map.of()).containsKey(o.id)) {
          bad.add(o.describe() + ": no entry in " + dpu + "'s history (it has " + history.getOrDefault(dpu, Map.of()).keySet() + ")");
        }
      }
    }
    return new Invariant("history-complete", "every DPU's history has an entry for each operation it took part in", checked, bad);
  }

  private Invariant deadlinesKept() {
    List<String> bad = new ArrayList<>();
    for (Map.Entry<String, CampaignSeen> e : campaigns.entrySet()) {
      CampaignSeen s = e.getValue();
      JsonNode c = s.last;
      if (s.ackDeadlines.stream().distinct().count() > 1 || s.bootWaitDeadlines.stream().distinct().count() > 1) {
        bad.add(e.getKey() + opOf(e.getKey()) + ": a deadline moved: ack " + s.ackDeadlines.stream().distinct().toList() + ", boot wait "
            + s.bootWaitDeadlines.stream().distinct().toList());
      }
      long ack = c.path("ackDeadline").asLong();
      long rebootAt = c.path("rebootAt").asLong();
      if (rebootAt > 0 && rebootAt > ack + DEADLINE_SLACK_MS) {
        bad.add(e.getKey() + opOf(e.getKey()) + ": waited for its DPUs until " + rebootAt + ", " + (rebootAt - ack) + " ms past its ack deadline");
      }
      long bootWait = c.path("bootWaitDeadline").asLong();
      long finished = c.path("finishedAt").asLong();
      if (bootWait > 0 && finished > bootWait + DEADLINE_SLACK_MS) {
        bad.add(e.getKey() + opOf(e.getKey()) + ": finished at " + finished + ", " + (finished - bootWait) + " ms past its boot-wait deadline");
      }
    }
    return new Invariant("deadlines-kept", "no restart extended a wait: each ended by its journaled deadline (+" + DEADLINE_SLACK_MS + " ms)",
        campaigns.size(), bad);
  }

  private Invariant journalRecovered() {
    List<String> bad = new ArrayList<>();
    for (Kill k : kills) {
      if (k.recovered() < k.journaledLogged()) {
        bad.add(k.describe() + ": event #" + k.journaledLogged() + " was logged as journaled, " + k.recovered() + " recovered");
      }
    }
    return new Invariant("journal-recovered", "every event logged as journaled before a kill was recovered after it", kills.size(), bad);
  }

  private String opOf(String id) {
    return ops.stream().filter(o -> o.id.equals(id)).findFirst().map(o -> " [" + o.describe() + "]").orElse("");
  }
}
