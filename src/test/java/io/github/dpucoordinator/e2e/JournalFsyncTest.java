package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durability against power loss, seen from the kernel: `dpuctl npu` runs a campaign (with a DPU that never
 * answers, so it gets its force action) and a module shutdown under strace. Every write to the journal file
 * is followed by an fdatasync of that file on the same thread before that thread does anything else; and
 * before each external action the journal records (the force command, the reboot command, the power-off
 * command) is exec'd, the write holding its event has been made and synced. Needs strace: tag
 * {@value #TAG}, run by {@code mvn verify -Psystem-tools} (what .ci/run does, installing strace).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@org.junit.jupiter.api.Tag(JournalFsyncTest.TAG)
class JournalFsyncTest {
  static final String TAG = "needs-strace";
  /** Each action's marker in its command line, and the event that must be on disk before it runs. */
  private static final Map<String, String> ACTIONS = Map.of("FORCE-MARK", "DpuEscalated", "REBOOT-MARK", "RebootIssued",
      "POWER-MARK", "ModulePowerIssued");
  private static final Pattern LINE = Pattern.compile("^(\\d+)\\s+(?:<\\.\\.\\. (\\w+) resumed>|(\\w+)\\()(.*)$");
  private final ActorTestKit kit = ActorTestKit.create("fsync", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void everyJournalWriteIsSyncedAndTheLastOneBeforeTheRebootCommandIsOnDiskFirst(@TempDir Path dir) throws Exception {
    assertTrue(new ProcessBuilder("strace", "-V").start().waitFor(10, TimeUnit.SECONDS),
        "strace is needed for this test (apt-get install strace; .ci/run installs it)");
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "S", 2, 100, Optional.of(Duration.ofMillis(100)));
    List<DpuEndpoint> dpus = new ArrayList<>(agents.stream()
        .map(a -> new DpuEndpoint(a.dpuId(), "127.0.0.1", a.port(), DpuEndpoint.REBOOT_SERVICE)).toList());
    dpus.add(new DpuEndpoint("GONE", "127.0.0.1", Harness.freePort(), DpuEndpoint.REBOOT_SERVICE)); // nothing listens: escalated
    Path trace = dir.resolve("strace.txt");
    Path output = dir.resolve("npu.out");
    int adminPort = Harness.freePort();
    List<String> cmd = new ArrayList<>(List.of("strace", "-f", "--seccomp-bpf", "-T", "-qq", "-s", "65536", "-e", "trace=openat,pwrite64,write,fdatasync,fsync,execve",
        "-e", "signal=none", "-o", trace.toString()));
    cmd.addAll(io.github.dpucoordinator.cli.DpuctlJvm.command());
    cmd.addAll(List.of("npu",
        "--data-dir", dir.resolve("data").toString(), "--admin-port", String.valueOf(adminPort), "--reboot-cmd", "echo REBOOT-MARK"));
    dpus.forEach(d -> cmd.addAll(List.of("--dpu", d.id() + "=127.0.0.1:" + d.port() + "/reboot-service")));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
    pb.environment().putAll(Map.of("DPUCOORD_DPU_API_PORT", "0", "DPUCOORD_WATCH", "false", "DPUCOORD_REBOOT_RETURN_AFTER", "100ms",
        "DPUCOORD_PIPE_GATEWAY", "false", "DPUCOORD_SIGNAL_ATTEMPTS", "2", "DPUCOORD_BOOT_WAIT", "3s",
        "DPUCOORD_FORCE_CMD", "echo FORCE-MARK {dpu}", "DPUCOORD_MODULE_POWER_OFF_CMD", "echo POWER-MARK {dpu}"));
    Process npu = pb.start();
    try {
      NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
      JsonNode idle = kit.createTestProbe().awaitAssert(Duration.ofSeconds(90), Duration.ofMillis(200), () -> Harness.status(admin));
      assertEquals("Idle", idle.path("phase").asText());
      String id = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("fsync").build()).toCompletableFuture()
          .get(30, TimeUnit.SECONDS).getCampaignId();
      JsonNode done = kit.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
        JsonNode s = Harness.status(admin);
        assertTrue(s.path("lastCampaign").path("id").asText().equals(id) && !s.path("lastCampaign").path("inFlight").asBoolean());
        return s;
      });
      assertEquals("degraded", done.path("lastCampaign").path("outcome").asText(), "GONE never answered: " + done);
      String transition = admin.moduleShutdown(io.github.dpucoordinator.proto.admin.ModuleRequest.newBuilder().setDpuId("S0")
          .setReason("fsync").build()).toCompletableFuture().get(30, TimeUnit.SECONDS).getTransitionId();
      kit.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
        JsonNode m = Harness.status(admin).path("modules").get(0);
        assertTrue(m.path("lastOutcome").asText().startsWith("ok: shutdown"), transition + ": " + m);
        return null;
      });
    } finally {
      npu.destroy();
      npu.waitFor(30, TimeUnit.SECONDS);
      npu.destroyForcibly();
    }

    List<String> lines = Files.readAllLines(trace);
    String journalFd = null;
    Map<String, String> unfinished = new HashMap<>(); // thread -> the start of a call strace split in two
    Map<String, String> pendingWrite = new HashMap<>(); // thread -> the journal write it has not synced yet
    int writes = 0;
    int syncs = 0;
    double syncSeconds = 0;
    Map<String, Boolean> written = new HashMap<>(); // event name -> a journal write holding it has been seen
    List<String> execs = new ArrayList<>();
    for (String raw : lines) {
      Matcher m = LINE.matcher(raw);
      if (!m.matches()) {
        continue;
      }
      String thread = m.group(1);
      String call = m.group(2) != null ? m.group(2) : m.group(3);
      String rest = m.group(4);
      if (rest.endsWith("<unfinished ...>")) {
        unfinished.put(thread, rest.substring(0, rest.length() - "<unfinished ...>".length()).stripTrailing());
        continue;
      }
      if (m.group(2) != null) {
        rest = unfinished.getOrDefault(thread, "") + rest; // "<... call resumed>) = 0" completes the call's start
        unfinished.remove(thread);
      }
      if (call.equals("openat") && rest.contains("journal.mv.db\"") && rest.matches(".*\\) += \\d+.*")) {
        journalFd = rest.replaceAll(".*\\) += (\\d+).*", "$1");
        continue;
      }
      if (journalFd == null) {
        continue;
      }
      boolean onJournal = rest.startsWith(journalFd + ",") || rest.startsWith(journalFd + ")");
      String marker = ACTIONS.keySet().stream().filter(rest::contains).findFirst().orElse(null);
      if (call.equals("execve") && marker != null && rest.matches(".*\\) += 0.*")) {
        assertTrue(pendingWrite.isEmpty(), "a journal write not yet on disk when " + marker + " was exec'd: " + pendingWrite);
        assertTrue(written.getOrDefault(ACTIONS.get(marker), false), ACTIONS.get(marker) + " was not written before " + marker + " ran");
        execs.add(marker);
      } else if (call.equals("pwrite64") && onJournal) {
        assertTrue(!pendingWrite.containsKey(thread), "two journal writes without a sync between them on thread " + thread);
        pendingWrite.put(thread, raw);
        String chunk = rest;
        ACTIONS.values().stream().filter(chunk::contains).forEach(e -> written.put(e, true));
        writes++;
      } else if ((call.equals("fdatasync") || call.equals("fsync")) && onJournal) {
        if (pendingWrite.remove(thread) != null) {
          syncs++;
          Matcher t = Pattern.compile("<(\\d+\\.\\d+)>$").matcher(rest);
          syncSeconds += t.find() ? Double.parseDouble(t.group(1)) : 0;
        }
      } else if (pendingWrite.containsKey(thread) && !call.equals("write")) {
        throw new AssertionError("thread " + thread + " went on (" + raw + ") before syncing its journal write " + pendingWrite.get(thread));
      }
    }
    assertTrue(journalFd != null, "the journal file was opened: " + lines.size() + " lines traced");
    assertEquals(java.util.Set.copyOf(ACTIONS.keySet()), java.util.Set.copyOf(execs), "the force, reboot and power-off commands ran under the trace");
    assertTrue(writes >= 8 && syncs == writes, "every journal write synced: " + writes + " writes, " + syncs + " syncs");
    System.err.printf("journal under strace: %d writes, %d fdatasyncs, %.2f ms per fdatasync (strace -T)%n", writes, syncs,
        syncs == 0 ? 0 : 1000 * syncSeconds / syncs);
  }
}
