package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.Map;

/** Renders the status document for people. */
final class StatusText {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);
  private static final int HISTORY_SHOWN = 3;

  private StatusText() {}

  static void print(JsonNode status, PrintStream out) {
    out.println("Phase: " + status.path("phase").asText());
    JsonNode c = status.path("lastCampaign");
    if (c.isMissingNode() || c.isNull()) {
      out.println("No campaign has run yet.");
    } else {
      out.printf("%s campaign %s: %s%n", c.path("inFlight").asBoolean() ? "Current" : "Last", c.path("id").asText(),
          c.path("outcome").asText());
      out.printf("  kind %s, reason '%s', started %s%s%n", c.path("kind").asText(), c.path("reason").asText(),
          time(c.path("startedAt").asLong()),
          c.path("finishedAt").asLong() > 0 ? ", finished " + time(c.path("finishedAt").asLong())
              + " (" + (c.path("finishedAt").asLong() - c.path("startedAt").asLong()) + " ms)" : "");
      if (!c.path("reboot").asText().isEmpty()) {
        out.println("  reboot: " + c.path("reboot").asText());
      }
      dpuTable(c, out);
    }
    JsonNode reboots = status.path("dpuReboots");
    if (reboots.size() > 0) {
      out.println("DPUs rebooting on their own:");
      for (JsonNode n : reboots) {
        out.printf("  %-8s notice %s, round %d, %s; hard deadline %s; reason '%s'%n", n.path("dpuId").asText(), n.path("id").asText(),
            n.path("round").asInt(), n.path("going").asBoolean() ? "went (" + n.path("why").asText() + "), expected back by "
                + time(n.path("expectBackBy").asLong())
                : "answered " + (n.path("decision").asText().isEmpty() ? "-" : n.path("decision").asText())
                    + (n.path("postponedUntil").asLong() > 0 ? " until " + time(n.path("postponedUntil").asLong()) : ""),
            time(n.path("hardDeadline").asLong()), n.path("reason").asText());
      }
    }
    JsonNode recent = status.path("recent");
    if (recent.size() > 0) {
      out.println("Recent campaigns:");
      for (JsonNode r : recent) {
        out.printf("  %s  %-8s %-9s %d DPU(s): %d complete, %d failed, %d not ready  (%s)%n", r.path("id").asText(),
            r.path("outcome").asText(), r.path("kind").asText(), r.path("dpus").asInt(), r.path("completed").asInt(),
            r.path("failed").asInt(), r.path("notReady").asInt(), r.path("reason").asText());
      }
    }
    JsonNode history = status.path("history");
    if (history.size() > 0) {
      out.println("DPU reboot history (latest " + HISTORY_SHOWN + " each):");
      for (Iterator<Map.Entry<String, JsonNode>> it = history.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        JsonNode entries = e.getValue();
        for (int i = Math.max(0, entries.size() - HISTORY_SHOWN); i < entries.size(); i++) {
          JsonNode h = entries.get(i);
          out.printf("  %-8s %s  %-22s %-8s %s%n", e.getKey(), time(h.path("atMillis").asLong()), h.path("cause").asText(),
              h.path("outcome").asText(), h.path("detail").asText());
        }
      }
    }
  }

  static void dpuTable(JsonNode campaign, PrintStream out) {
    out.printf("  %-10s %-22s %-18s %-8s %-9s %s%n", "DPU", "ENDPOINT", "STATE", "ATTEMPTS", "OUTCOME", "DETAIL");
    for (JsonNode d : campaign.path("dpus")) {
      String detail = d.path("reason").asText();
      if (detail.isEmpty() && !d.path("protective").asText().isEmpty()) {
        detail = "protective: " + d.path("protective").asText();
      }
      if (detail.isEmpty() && !d.path("hold").asText().isEmpty()) {
        detail = d.path("hold").asText();
      }
      if (detail.isEmpty()) {
        detail = d.path("lastSeen").asText();
      }
      out.printf("  %-10s %-22s %-18s %-8d %-9s %s%n", d.path("id").asText(), d.path("endpoint").asText(),
          d.path("state").asText(), d.path("attempts").asInt(), d.path("outcome").asText(), detail);
    }
  }

  static String time(long millis) {
    return millis <= 0 ? "-" : TIME.format(Instant.ofEpochMilli(millis));
  }
}
