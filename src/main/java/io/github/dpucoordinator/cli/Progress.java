package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Prints a campaign's live progress from successive status documents: phase changes, each DPU's
 * state changes (for small campaigns) or state counts (for large ones), and every failure.
 */
final class Progress {
  private static final int PER_DPU_LIMIT = 16;

  private final PrintStream out;
  private final String campaignId;
  private final long startMillis;
  private String phase = "";
  private String counts = "";
  private final Map<String, String> states = new HashMap<>();

  Progress(PrintStream out, String campaignId, long startMillis) {
    this.out = out;
    this.campaignId = campaignId;
    this.startMillis = startMillis;
  }

  String campaignId() {
    return campaignId;
  }

  /** Prints what changed; true once this campaign is over. */
  boolean update(JsonNode status, long nowMillis) {
    JsonNode c = status.path("lastCampaign");
    if (!campaignId.equals(c.path("id").asText())) {
      return false;
    }
    String stamp = String.format("[+%5.1fs]", (nowMillis - startMillis) / 1000.0);
    boolean inFlight = c.path("inFlight").asBoolean();
    String nowPhase = status.path("phase").asText();
    if (!nowPhase.equals(phase) && inFlight) {
      phase = nowPhase;
      out.println(stamp + " phase " + phase);
    }
    JsonNode dpus = c.path("dpus");
    Map<String, Integer> tally = new TreeMap<>();
    for (JsonNode d : dpus) {
      String id = d.path("id").asText();
      String state = d.path("state").asText();
      tally.merge(state, 1, Integer::sum);
      String before = states.put(id, state);
      boolean changed = !state.equals(before);
      if (changed && (dpus.size() <= PER_DPU_LIMIT || state.equals("FAILED") || state.equals("NOT_READY"))) {
        String why = d.path("reason").asText();
        out.printf("%s %-10s %s%s%n", stamp, id, state, why.isEmpty() ? "" : ": " + why);
      }
    }
    String nowCounts = tally.toString();
    if (dpus.size() > PER_DPU_LIMIT && !nowCounts.equals(counts)) {
      counts = nowCounts;
      out.println(stamp + " " + dpus.size() + " DPUs " + nowCounts);
    }
    if (!inFlight) {
      out.printf("%s campaign %s finished: %s%n", stamp, campaignId, c.path("outcome").asText());
    }
    return !inFlight;
  }
}
