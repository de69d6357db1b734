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
    for (JsonNode f : status.path("journalFailures")) {
      out.printf("JOURNAL WRITE FAILING for %s since %s (%d attempts): %s; it resumes from the journal once writes succeed%n",
          f.path("entity").asText(), time(f.path("since").asLong()), f.path("attempts").asInt(), f.path("cause").asText());
    }
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
                : "answered " + n.path("decision").asText("-")
                    + (n.path("postponedUntil").asLong() > 0 ? " until " + time(n.path("postponedUntil").asLong()) : "")
                    + (n.path("answer").asText().isEmpty() ? "" : " (" + n.path("answer").asText() + ")"),
            time(n.path("hardDeadline").asLong()), n.path("reason").asText());
      }
    }
    JsonNode recent = status.path("recent");
    if (recent.size() > 0) {
      out.println("Recent campaigns:");
      for (JsonNode r : recent) {
        out.printf("  %s  %-9s %-9s %d DPU(s): %d complete, %d failed, %d not ready  (%s)%n", r.path("id").asText(),
            r.path("outcome").asText(), r.path("kind").asText(), r.path("dpus").asInt(), r.path("completed").asInt(),
            r.path("failed").asInt(), r.path("notReady").asInt(), r.path("reason").asText());
      }
    }
    history(status.path("history"), "DPU reboot history (latest " + HISTORY_SHOWN + " each):", out);
    tls(status.path("tls"), out);
  }

  /** The transport security of the APIs and of the way to each DPU, when any is not plaintext; insecure and expiring ones flagged. */
  static void tls(JsonNode tls, PrintStream out) {
    boolean any = false;
    for (JsonNode t : tls) {
      any |= !t.path("mode").asText().equals("plaintext");
    }
    if (!any) {
      return;
    }
    out.println("TLS:");
    for (JsonNode t : tls) {
      out.printf("  %-10s %s%s%s%n", t.path("endpoint").asText(), t.path("mode").asText(),
          t.path("insecure").asBoolean() ? " INSECURE (the peer's certificate is not checked)" : "",
          t.path("certificate").asText().isEmpty() ? "" : ", certificate " + t.path("certificate").asText() + " until "
              + time(t.path("notAfterMillis").asLong()) + (t.path("expiresSoon").asBoolean() ? " EXPIRES SOON (dpu-coordinator.tls.warn-before)" : ""));
    }
  }

  /** The latest entries of each DPU's reboot history, in columns as wide as their longest cell. */
  static void history(JsonNode history, String title, PrintStream out) {
    if (history.size() == 0) {
      return;
    }
    java.util.List<String[]> rows = new java.util.ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = history.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode entries = e.getValue();
      for (int i = Math.max(0, entries.size() - HISTORY_SHOWN); i < entries.size(); i++) {
        JsonNode h = entries.get(i);
        rows.add(new String[] {e.getKey(), time(h.path("atMillis").asLong()), h.path("cause").asText(), h.path("outcome").asText(),
            h.path("detail").asText()});
      }
    }
    int[] width = new int[4];
    rows.forEach(r -> {
      for (int i = 0; i < width.length; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    });
    out.println(title);
    String format = "  %-" + width[0] + "s  %-" + width[1] + "s  %-" + width[2] + "s  %-" + width[3] + "s  %s%n";
    rows.forEach(r -> out.printf(format, (Object[]) r));
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
