package io.github.dpucoordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.common.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The short soak `mvn verify` runs: `dpuctl soak --kills 10` with a fixed seed (the README records a long one). The
 * seed fixes the sequence of operations and kill moments; what the service does at each moment is real.
 */
class SoakTest {
  /** Draws campaigns, module shutdowns and startups, a DPU-initiated reboot and container upgrades within its first 10 kills. */
  private static final String SEED = "9";

  @Test
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void tenSigkillsAtSeededMomentsLeaveEveryInvariantHolding(@TempDir Path dir) throws Exception {
    CliRunner.Run run = CliRunner.dpuctl("soak", "--kills", "10", "--seed", SEED, "--dir", dir.toString(), "--json");
    JsonNode r;
    try {
      r = Json.read(run.out());
    } catch (Exception e) {
      throw new AssertionError("no JSON report: " + run.out() + run.err() + logs(dir), e);
    }
    assertEquals(0, run.exit(), r.toPrettyString() + "\n--- progress ---\n" + run.err() + logs(dir));
    assertTrue(r.path("ok").asBoolean());
    assertEquals(10, r.path("kills").asInt());
    assertEquals(10, r.path("restartMillis").size());
    for (String kind : new String[] {"campaign", "module-shutdown", "module-startup", "dpu-reboot", "container-upgrade"}) {
      assertTrue(r.path("operations").path(kind).asInt() > 0, kind + " driven: " + r.path("operations"));
    }
    Map<String, JsonNode> invariants = new HashMap<>();
    r.path("invariants").forEach(i -> invariants.put(i.path("name").asText(), i));
    assertEquals(8, invariants.size(), invariants.keySet().toString());
    for (JsonNode i : invariants.values()) {
      assertEquals(0, i.path("violations").size(), i.toString());
      if (!i.path("name").asText().equals("no-force-after-graceful")) { // how many escalations depends on where the kills fall
        assertTrue(i.path("checked").asInt() > 0, i + " was checked");
      }
    }
    assertEquals(10, invariants.get("journal-recovered").path("checked").asInt());
    // the service's actions really ran (they record into --dir): one reboot per campaign that issued it
    assertEquals(r.path("operations").path("campaign").asInt(), Files.readAllLines(dir.resolve("reboots.log")).size());
  }

  private static String logs(Path dir) {
    try (var files = Files.list(dir)) {
      StringBuilder b = new StringBuilder();
      for (Path f : files.filter(p -> p.getFileName().toString().startsWith("npu-") || p.getFileName().toString().equals("dpus.log"))
          .sorted().toList()) {
        String text = Files.readString(f);
        if (f.getFileName().toString().equals("dpus.log")) { // G0's offloader: the container upgrades
          text = text.lines().filter(l -> l.contains("container=")).collect(java.util.stream.Collectors.joining("\n"));
        }
        b.append("\n--- ").append(f.getFileName()).append(" (last 4000 chars) ---\n").append(text.substring(Math.max(0, text.length() - 4000)));
      }
      return b.toString();
    } catch (Exception e) {
      return "\n(no logs: " + e.getMessage() + ")";
    }
  }
}
