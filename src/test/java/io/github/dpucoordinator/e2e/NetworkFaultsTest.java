package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.cli.DpuctlJvm;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.npu.NpuService;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatusRequest;
import io.github.dpucoordinator.proto.gnoi.system.SystemClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One campaign over ten DPUs in a network namespace of the test's own ({@link NetLab}), each with a fault of its own,
 * against the NPU service in this JVM on this host's side of the veth pairs: nothing else, a partition before the
 * signal (healed 2.5 s in), a partition right after the acknowledgment (never healed while it matters), one after the
 * acknowledgment healed during the completion wait, 30 % loss both ways, 500 ms added on the way to the DPU (a relay
 * in its namespace), a DPU that only ever
 * answers RETRIABLE_FAILURE, one that accepts connections and never answers (a blackhole), and an agent SIGKILLed in
 * the middle of its (6 s) shutdown and started again at once (a new boot id). Each fault must cost at most its configured budget, a
 * healed partition must be picked up without waiting for a deadline, and no DPU may shut down twice. The figures are
 * printed for the README.
 */
@Tag("needs-root")
@Tag("needs-netns")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NetworkFaultsTest {
  private final ActorTestKit kit = ActorTestKit.create("netfaults", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private static final int CLEAN = 0;
  private static final int CUT_BEFORE = 1;
  private static final int CUT_AFTER_ACK = 2;
  private static final int CUT_HEALED = 3;
  private static final int LOSS = 4;
  private static final int LATENCY = 5;
  private static final int RETRIABLE = 6;
  private static final int BLACKHOLE = 7;
  private static final int KILLED = 8;
  private static final int CLEAN_SEED = 9;
  private static final String[] NAMES = {"CLEAN", "CUT_BEFORE", "CUT_AFTER_ACK", "CUT_HEALED", "LOSS30", "LATENCY500", "RETRIABLE",
      "BLACKHOLE", "KILLED", "CLEAN_SEED"};
  /** gNOI (g) or the seed's RebootService (r), by index; CLEAN_SEED is LATENCY500's twin without the fault. */
  private static final String PROTOCOLS = "grgrgrgggr";
  private static final int PORT = 50051;
  private static final long HALT_TIMEOUT_MS = 12_000;
  private static final long RPC_TIMEOUT_MS = 2_000;
  private static final int ATTEMPTS = 5;
  private static final long HEAL_BEFORE_AT_MS = 2_500;
  private static final long HEAL_DURING_AFTER_MS = 1_500;

  /** What the test saw of one DPU, in ms from the campaign's start (-1: not seen). */
  private static final class Seen {
    long acked = -1;
    long resolved = -1;
    long cut = -1;
    long healed = -1;
    JsonNode last;
  }

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void eachNetworkFaultCostsAtMostItsBudgetAndNoDpuIsLostOrShutDownTwice(@TempDir Path dir) throws Exception {
    String tag;
    Path labLog = dir.resolve("lab-dpus.log");
    Path killedLog = dir.resolve("killed-agent.log");
    Map<String, Seen> seen = new LinkedHashMap<>();
    try (NetLab lab = NetLab.create(NAMES.length)) {
      tag = lab.tag();
      String[] kinds = {"agent:800", "agent:800", "agent:1500", "agent:4000", "agent:800", "delayed:800", "retriable:300", "blackhole:0"};
      List<String> specs = new ArrayList<>();
      for (int i = 0; i < kinds.length; i++) {
        String[] k = kinds[i].split(":");
        specs.add(NAMES[i] + ":" + k[0] + ":" + lab.address(i) + ":" + PORT + ":" + k[1]);
      }
      specs.add(NAMES[CLEAN_SEED] + ":agent:" + lab.address(CLEAN_SEED) + ":" + PORT + ":800");
      List<String> labCmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-XX:+UseSerialGC",
          "-XX:TieredStopAtLevel=1", "-Xmx256m", "-cp", System.getProperty("java.class.path"), LabDpus.class.getName()));
      labCmd.addAll(specs);
      lab.start(labCmd, Map.of(), labLog);
      Process killed = startKilledAgent(lab, killedLog);
      awaitOutput(labLog, "LAB READY");
      awaitOutput(killedLog, "listening on");

      lab.cut(CUT_BEFORE);
      lab.loss(LOSS, 30);

      List<DpuEndpoint> dpus = new ArrayList<>();
      for (int i = 0; i < NAMES.length; i++) {
        dpus.add(new DpuEndpoint(NAMES[i], lab.address(i), PORT, PROTOCOLS.charAt(i) == 'g' ? DpuEndpoint.GNOI : DpuEndpoint.REBOOT_SERVICE));
        seen.put(NAMES[i], new Seen());
      }
      Config config = npuConfig(dir.resolve("npu"));
      ActorSystem<Void> npu = ActorSystem.create(Behaviors.empty(), "npu-netfaults", config);
      try {
        NpuService.Running running = NpuService.start(npu, NpuSettings.create(config).withDpus(dpus)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        NpuAdminClient admin = Harness.admin(npu, running.adminPort());
        TestProbe<Object> probe = kit.createTestProbe();
        var started = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("network faults").build()).toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
        assertTrue(started.getAccepted(), started.getMessage());
        String id = started.getCampaignId();
        Killed killedAgent = new Killed(killed);
        // 90 s at most of status reads every 100 ms, acting on what each DPU does, until the campaign has ended
        JsonNode status = probe.awaitAssert(Duration.ofSeconds(90), Duration.ofMillis(100), () -> {
          JsonNode st;
          try {
            st = Harness.status(admin);
          } catch (Exception e) {
            throw new AssertionError("no status: " + e.getMessage(), e);
          }
          act(lab, seen, st, killedAgent, killedLog);
          assertTrue(st.path("lastCampaign").path("id").asText().equals(id) && !st.path("lastCampaign").path("inFlight").asBoolean(),
              () -> "the campaign has not ended: " + st.path("lastCampaign"));
          return st;
        });
        long finished = status.path("lastCampaign").path("finishedAt").asLong() - status.path("lastCampaign").path("startedAt").asLong();
        String context = status + "\nlab DPUs:\n" + Harness.read(labLog) + "\nkilled agent:\n" + Harness.read(killedLog);
        report(seen, finished);
        assertBudgets(seen, context);
        assertShutdownsRanOnce(npu, lab, labLog, context);
      } finally {
        npu.terminate();
        npu.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
    assertEquals("", NetLab.leftovers(tag), "the lab's namespace and links are all gone");
  }

  /** The killed agent's process, and when it is to be started again (-1: not yet killed). */
  private static final class Killed {
    Process process;
    long restartAt = -1;

    Killed(Process process) {
      this.process = process;
    }
  }

  /** What {@code status} shows of each DPU is noted, and the faults that wait for a moment of it are injected or healed. */
  private static void act(NetLab lab, Map<String, Seen> seen, JsonNode status, Killed killed, Path killedLog) {
    long now = status.path("nowMillis").asLong() - status.path("lastCampaign").path("startedAt").asLong(); // the service's clock
    for (JsonNode d : status.path("lastCampaign").path("dpus")) {
      Seen s = seen.get(d.path("id").asText());
      String state = d.path("state").asText();
      s.last = d;
      if (s.acked < 0 && !state.equals("PENDING") && !state.equals("NOTIFYING")) {
        s.acked = now;
      }
      if (s.resolved < 0 && (state.equals("SHUTDOWN_COMPLETE") || state.equals("FAILED") || state.equals("WAITING_FOR_BOOT")
          || state.equals("READY") || state.equals("NOT_READY"))) {
        s.resolved = now;
      }
    }
    try {
      Seen before = seen.get(NAMES[CUT_BEFORE]);
      if (before.healed < 0 && now >= HEAL_BEFORE_AT_MS) {
        lab.heal(CUT_BEFORE);
        before.healed = now;
      }
      Seen afterAck = seen.get(NAMES[CUT_AFTER_ACK]);
      if (afterAck.cut < 0 && afterAck.acked >= 0) {
        lab.cut(CUT_AFTER_ACK);
        afterAck.cut = now;
      } else if (afterAck.cut >= 0 && afterAck.healed < 0 && afterAck.resolved >= 0) {
        lab.heal(CUT_AFTER_ACK); // given up on: it may come back for the boot wait
        afterAck.healed = now;
      }
      Seen during = seen.get(NAMES[CUT_HEALED]);
      if (during.cut < 0 && during.acked >= 0) {
        lab.cut(CUT_HEALED);
        during.cut = now;
      } else if (during.cut >= 0 && during.healed < 0 && now >= during.cut + HEAL_DURING_AFTER_MS) {
        lab.heal(CUT_HEALED);
        during.healed = now;
      }
      Seen k = seen.get(NAMES[KILLED]);
      if (k.cut < 0 && k.acked >= 0) {
        killed.process.destroyForcibly(); // SIGKILL in the middle of its 6 s shutdown
        killed.process.waitFor(10, TimeUnit.SECONDS);
        k.cut = now;
        killed.restartAt = now; // started again at once: a JVM takes a few seconds to listen
      } else if (killed.restartAt >= 0 && now >= killed.restartAt && k.healed < 0) {
        killed.process = startKilledAgent(lab, killedLog);
        k.healed = now;
      }
    } catch (Exception e) {
      throw new IllegalStateException("the lab could not inject a fault: " + e.getMessage(), e); // not retried
    }
  }

  private static void assertBudgets(Map<String, Seen> seen, String context) {
    Seen clean = seen.get(NAMES[CLEAN]);
    assertEquals("ok", clean.last.path("outcome").asText(), context);

    Seen before = seen.get(NAMES[CUT_BEFORE]);
    assertEquals("ok", before.last.path("outcome").asText(), "a partition healed before the attempts ran out costs a delay\n" + context);
    assertTrue(before.acked > before.healed && before.acked < before.healed + 4_000,
        "picked up within one backoff of the heal, not at a deadline: acked at " + before.acked + " ms\n" + context);

    Seen afterAck = seen.get(NAMES[CUT_AFTER_ACK]);
    assertEquals("failed", afterAck.last.path("outcome").asText(), context);
    assertTrue(afterAck.last.path("reason").asText().contains("halt timeout"), context);
    long waited = afterAck.resolved - afterAck.acked;
    assertTrue(waited >= HALT_TIMEOUT_MS - 1_000 && waited <= HALT_TIMEOUT_MS + 3_000,
        "an unreachable acknowledged DPU costs its halt timeout (" + HALT_TIMEOUT_MS + " ms), it cost " + waited + " ms\n" + context);

    Seen during = seen.get(NAMES[CUT_HEALED]);
    assertEquals("ok", during.last.path("outcome").asText(), context);
    // its shutdown takes 4 s from the acknowledgment; the partition ends 1.5 s in: seen complete soon after, not at the halt timeout
    assertTrue(during.resolved - during.acked < 4_000 + 2_500 && during.resolved - during.acked < HALT_TIMEOUT_MS,
        "a partition healed during the completion wait is picked up without waiting for a deadline: resolved at " + during.resolved
            + " ms, acknowledged at " + during.acked + " ms, healed at " + during.healed + " ms\n" + context);

    long signalBudget = ATTEMPTS * RPC_TIMEOUT_MS + 300 + 600 + 1_000 + 1_000; // attempts and the pauses between them
    Seen loss = seen.get(NAMES[LOSS]);
    assertEquals("ok", loss.last.path("outcome").asText(), "30 % loss costs retries, not the DPU\n" + context);
    assertTrue(loss.resolved >= 0 && loss.resolved <= signalBudget + HALT_TIMEOUT_MS + 3_000,
        "30 % loss costs at most the signal budget and the halt timeout: resolved at " + loss.resolved + " ms\n" + context);

    Seen latency = seen.get(NAMES[LATENCY]);
    assertEquals("ok", latency.last.path("outcome").asText(), context);
    long twin = seen.get(NAMES[CLEAN_SEED]).resolved;
    assertTrue(latency.resolved - twin >= 300, "500 ms on the way to it is felt: " + latency.resolved + " ms against its twin's " + twin
        + " ms\n" + context);
    assertTrue(latency.resolved <= signalBudget + 800 + 3_000, "and costs no more than the signal budget: " + latency.resolved + " ms\n"
        + context);

    Seen retriable = seen.get(NAMES[RETRIABLE]);
    assertEquals("failed", retriable.last.path("outcome").asText(), context);
    assertTrue(retriable.last.path("reason").asText().contains("RETRIABLE_FAILURE"), context);
    assertEquals(ATTEMPTS, retriable.last.path("attempts").asInt(), "each retriable failure is an attempt, journaled\n" + context);
    assertTrue(retriable.resolved <= ATTEMPTS * (300 + 2 * RPC_TIMEOUT_MS) + signalBudget,
        "asked again a bounded number of times: resolved at " + retriable.resolved + " ms\n" + context);

    Seen blackhole = seen.get(NAMES[BLACKHOLE]);
    assertEquals("failed", blackhole.last.path("outcome").asText(), context);
    assertEquals(ATTEMPTS, blackhole.last.path("attempts").asInt(), context);
    assertTrue(blackhole.resolved <= signalBudget + 3_000,
        "a DPU that hangs its connections costs the signal budget (" + signalBudget + " ms): " + blackhole.resolved + " ms\n" + context);

    Seen killed = seen.get(NAMES[KILLED]);
    assertEquals("degraded", killed.last.path("outcome").asText(), context);
    assertTrue(killed.last.path("reason").asText().contains("restarted (boot"), context);
    assertTrue(killed.resolved < killed.acked + HALT_TIMEOUT_MS,
        "a DPU back in a new boot is seen before its halt timeout: resolved at " + killed.resolved + " ms\n" + context);
  }

  /**
   * The agents' reboot counts, read over gNOI once every fault is healed: one shutdown each whatever the network did;
   * the RETRIABLE_FAILURE DPU halted once per attempt, no more (its own log).
   */
  private static void assertShutdownsRanOnce(ActorSystem<?> system, NetLab lab, Path labLog, String context) throws Exception {
    for (int i : new int[] {CLEAN, CUT_BEFORE, CUT_AFTER_ACK, CUT_HEALED, LATENCY, LOSS, CLEAN_SEED}) {
      assertEquals(1, rebootCount(system, lab.address(i)), NAMES[i] + " ran its shutdown exactly once\n" + context);
    }
    assertEquals(0, rebootCount(system, lab.address(KILLED)), "the killed agent's new boot was not asked to shut down again\n" + context);
    long halts = Files.readString(labLog).lines().filter(l -> l.startsWith(NAMES[RETRIABLE] + " halt ")).count();
    assertEquals(ATTEMPTS, halts, "the RETRIABLE_FAILURE DPU was asked again until the attempts ran out, no more\n" + context);
  }

  private static int rebootCount(ActorSystem<?> system, String address) throws Exception {
    SystemClient gnoi = SystemClient.create(GrpcClientSettings.connectToServiceAt(address, PORT, system).withTls(false)
        .withDeadline(Duration.ofSeconds(10)), system);
    try {
      return gnoi.rebootStatus(RebootStatusRequest.getDefaultInstance()).toCompletableFuture().get(15, TimeUnit.SECONDS).getCount();
    } finally {
      gnoi.close();
    }
  }

  private static void report(Map<String, Seen> seen, long finished) {
    System.out.println("network faults (ms from the campaign's start): dpu, acknowledged, resolved, cut, healed, outcome, attempts, reason");
    seen.forEach((id, s) -> System.out.printf("  %-14s %6d %6d %6d %6d %-9s %d %s%n", id, s.acked, s.resolved, s.cut, s.healed,
        s.last.path("outcome").asText(), s.last.path("attempts").asInt(), s.last.path("reason").asText()));
    System.out.println("  campaign finished after " + finished + " ms");
  }

  private static Process startKilledAgent(NetLab lab, Path log) throws Exception {
    List<String> cmd = new ArrayList<>(DpuctlJvm.command());
    cmd.addAll(List.of("dpu", "--id", NAMES[KILLED], "--port", String.valueOf(PORT), "--shutdown-ms", "6000"));
    return lab.start(cmd, Map.of("DPU_AGENT_HOST", lab.address(KILLED), "DPUCTL_TEST_LOG_LEVEL", "INFO"), log);
  }

  private void awaitOutput(Path log, String text) {
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(100), () -> {
      assertTrue(Files.exists(log) && Harness.read(log).contains(text), () -> "no '" + text + "' yet:\n" + Harness.read(log));
      return null;
    });
  }

  private static Config npuConfig(Path dataDir) {
    Config c = Harness.npuConfig(dataDir);
    c = AppConfig.with(c, "dpu-coordinator.npu.ack-deadline", "40s");
    c = AppConfig.with(c, "dpu-coordinator.npu.halt-timeout", HALT_TIMEOUT_MS + "ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.rpc-timeout", RPC_TIMEOUT_MS + "ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.max-attempts", ATTEMPTS);
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.backoff-min", "300ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.backoff-max", "1s");
    c = AppConfig.with(c, "dpu-coordinator.npu.signal.jitter", 0.0);
    c = AppConfig.with(c, "dpu-coordinator.npu.gnoi.status-poll-interval", "200ms");
    c = AppConfig.with(c, "dpu-coordinator.npu.state-wait", "1s");
    return AppConfig.with(c, "dpu-coordinator.npu.boot-wait", "6s");
  }
}
