package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.proto.admin.ModuleRequest;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.proto.admin.ModuleResponse;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The chaos soak: the NPU service as a child process over real agents, driven through campaigns, module
 * shutdowns and startups, DPU-initiated reboots that the NPU postpones once, and upgrades of a container that G0's
 * offloader runs on the NPU (every sixth cycle); in every cycle the service
 * is killed with SIGKILL at a moment drawn from the seed (every fifth time just after the operation ended) and
 * started again on the same data dir. {@link SoakLedger} holds what happened and checks the invariants.
 */
final class Soak {
  /** {@code journalUrl}: the journal's JDBC URL (empty: the H2 file in the data dir); user and password beside it. */
  record Options(int kills, Duration duration, int dpus, long seed, Path dir, String journalUrl, String journalUser, String journalPassword) {}

  private static final Pattern JOURNALED = Pattern.compile("journaled #(\\d+) ");
  private static final Duration OPERATION_BOUND = Duration.ofSeconds(120);
  private static final Map<String, Integer> KILL_WITHIN_MS = Map.of("campaign", 3000, "module-shutdown", 1500, "module-startup", 1500,
      "dpu-reboot", 3000, "container-upgrade", 3000);

  private final Options options;
  private final PrintStream log;
  private final Random random;
  private final SoakLedger ledger;
  private final int adminPort;
  private final int dpuApiPort;
  private BenchNpu npu;
  private int incarnation;

  Soak(Options options, PrintStream log) throws IOException {
    this.options = options;
    this.log = log;
    this.random = new Random(options.seed());
    this.ledger = new SoakLedger(options.seed());
    this.adminPort = io.github.dpucoordinator.common.Ports.freeLoopbackPort();
    this.dpuApiPort = io.github.dpucoordinator.common.Ports.freeLoopbackPort();
  }

  SoakLedger run() throws Exception {
    Files.createDirectories(options.dir());
    long until = System.nanoTime() + options.duration().toNanos();
    try (SoakFleet fleet = new SoakFleet(options.dpus(), dpuApiPort, options.dir())) {
      startNpu(fleet);
      awaitUp();
      // its first start is not an upgrade: the soak's upgrades begin from a container that runs
      String notYet = awaitOffloaded(fleet, SoakFleet.FIRST_VERSION);
      if (notYet != null) {
        throw new IllegalStateException("G0's offloaded container " + SoakFleet.CONTAINER + " did not start at " + SoakFleet.FIRST_VERSION
            + " within " + OPERATION_BOUND.toSeconds() + " s: " + notYet);
      }
      for (int n = 0; ledger.kills.size() < options.kills() && System.nanoTime() < until; n++) {
        if (!cycle(fleet, n)) {
          break; // an operation did not end: the next would be refused; the report says which
        }
      }
      ledger.finalStatus = awaitStatus(Duration.ofSeconds(60), s -> s.path("phase").asText().equals("Idle"));
      npu.process.destroy(); // SIGTERM: a clean stop
      npu.process.waitFor(30, TimeUnit.SECONDS);
      npu.close();
    }
    ledger.rebootLines = lines(options.dir().resolve("reboots.log"));
    ledger.forceLines = lines(options.dir().resolve("forces.log"));
    return ledger;
  }

  /** One operation (a module shutdown is followed by its startup); one of its steps gets the kill. */
  private boolean cycle(SoakFleet fleet, int n) throws Exception {
    double r = random.nextDouble();
    String dpu = fleet.ids().get(random.nextInt(fleet.ids().size()));
    // every sixth cycle upgrades G0's offloaded container; the others are drawn
    List<String> steps = n % 6 == 5 ? List.of("container-upgrade") : r < 0.55 ? List.of("campaign")
        : r < 0.8 ? List.of("module-shutdown", "module-startup") : List.of("dpu-reboot");
    int killed = random.nextInt(steps.size());
    boolean quiet = n % 5 == 4;
    for (int i = 0; i < steps.size(); i++) {
      String kind = steps.get(i);
      long pause = random.nextInt(KILL_WITHIN_MS.get(kind) + 1);
      Map<String, Long> before = fleet.shutdownRuns();
      long since = System.currentTimeMillis(); // the offloader's history is stamped with the same clock
      SoakLedger.Op op = begin(fleet, ledger.ops.size() + 1, kind, dpu, kind.equals("campaign") ? fleet.ids()
          : kind.equals("container-upgrade") ? List.of() : List.of(dpu));
      ledger.ops.add(op);
      long began = System.nanoTime();
      if (i == killed) {
        if (quiet) {
          awaitOp(op, fleet);
        } else {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(pause)); // the kill's moment: real time is what is under test
        }
        kill(op, (System.nanoTime() - began) / 1_000_000, quiet, fleet);
      }
      if (op.outcome.isEmpty() && !awaitOp(op, fleet)) {
        return false;
      }
      op.millis = (System.nanoTime() - began) / 1_000_000;
      if (kind.equals("container-upgrade")) {
        op.container = containerProblems(fleet, op.id, fleet.offloadedEventsSince("upgrade-started", since));
      }
      Map<String, Long> after = fleet.shutdownRuns();
      Map<String, Long> runs = new LinkedHashMap<>();
      after.forEach((id, count) -> runs.put(id, count - before.getOrDefault(id, 0L)));
      op.runs = runs;
    }
    return true;
  }

  private SoakLedger.Op begin(SoakFleet fleet, int n, String kind, String dpu, List<String> dpus) throws Exception {
    String reason = "soak " + n;
    String id = switch (kind) {
      case "campaign" -> npu.start(reason);
      case "dpu-reboot" -> fleet.requestReboot(dpu, reason);
      case "container-upgrade" -> {
        String version = "1." + n;
        fleet.dpuVersion(version);
        yield version;
      }
      default -> {
        ModuleRequest request = ModuleRequest.newBuilder().setDpuId(dpu).setReason(reason).build();
        ModuleResponse m = (kind.equals("module-shutdown") ? npu.admin.moduleShutdown(request) : npu.admin.moduleStartup(request))
            .toCompletableFuture().get(10, TimeUnit.SECONDS);
        if (!m.getAccepted()) {
          throw new IllegalStateException(kind + " of " + dpu + " refused: " + m.getMessage());
        }
        yield m.getTransitionId();
      }
    };
    return new SoakLedger.Op(n, kind, id, dpus);
  }

  /** Waits (bounded) until the operation has ended and is in its DPUs' histories; false if it did not. */
  private boolean awaitEnd(SoakLedger.Op op) {
    try {
      JsonNode s = awaitStatus(OPERATION_BOUND, st -> ended(st, op));
      op.outcome = outcome(s, op);
      return true;
    } catch (Exception e) {
      log.printf("soak: %s did not end within %s s: %s%n", op.describe(), OPERATION_BOUND.toSeconds(), Systems.rootMessage(e));
      return false;
    }
  }

  private boolean awaitOp(SoakLedger.Op op, SoakFleet fleet) throws Exception {
    return op.kind.equals("container-upgrade") ? awaitUpgraded(op, fleet) : awaitEnd(op);
  }

  /** Waits (bounded) until G0's offloader says its container runs the version of {@code op}, healthy; false if not. */
  private boolean awaitUpgraded(SoakLedger.Op op, SoakFleet fleet) throws Exception {
    String missed = awaitOffloaded(fleet, op.id);
    if (missed != null) {
      log.printf("soak: %s did not end within %s s: %s%n", op.describe(), OPERATION_BOUND.toSeconds(), missed);
      op.lastSeen = "G0's offloader: " + missed;
      return false;
    }
    op.outcome = "upgraded";
    return true;
  }

  /** Waits (bounded) until G0's offloader says its container runs {@code version}, healthy: null, else what it said last. */
  private static String awaitOffloaded(SoakFleet fleet, String version) throws Exception {
    String healthy = "steady " + version + " healthy: ";
    String last = poll(fleet::offloaded, s -> s.startsWith(healthy));
    return last.startsWith(healthy) ? null : last;
  }

  /** After an upgrade: the NPU runs it once, at that version (awaited: a kill stops it, the offloader starts it), and it started once. */
  private static String containerProblems(SoakFleet fleet, String version, long upgradesStarted) throws Exception {
    List<String> want = List.of("RUNNING offload/" + SoakFleet.CONTAINER + ":" + version);
    List<String> onNpu = poll(fleet::onNpu, want::equals);
    List<String> problems = new ArrayList<>();
    if (!onNpu.equals(want)) {
      problems.add("the NPU lists " + onNpu + " after " + OPERATION_BOUND.toSeconds() + " s, not " + want);
    }
    if (upgradesStarted != 1) {
      problems.add("the offloader started " + upgradesStarted + " upgrade(s) for it, not 1");
    }
    return String.join("; ", problems);
  }

  /** Asks every 200 ms until {@code done} holds of the answer, at most {@link #OPERATION_BOUND}; the last answer. */
  private static <T> T poll(java.util.concurrent.Callable<T> ask, Predicate<T> done) throws Exception {
    T last = ask.call();
    for (long until = System.nanoTime() + OPERATION_BOUND.toNanos(); !done.test(last) && System.nanoTime() < until; last = ask.call()) {
      Thread.sleep(200); // asked again: nothing to wait on but the answer
    }
    return last;
  }

  private static boolean ended(JsonNode s, SoakLedger.Op op) {
    boolean inHistories = op.dpus.stream().allMatch(d -> entry(s, d, op.id) != null);
    return switch (op.kind) {
      case "campaign" -> s.path("phase").asText().equals("Idle") && inHistories;
      case "dpu-reboot" -> inHistories && java.util.stream.StreamSupport.stream(s.path("dpuReboots").spliterator(), false)
          .noneMatch(x -> x.path("id").asText().equals(op.id));
      default -> inHistories && java.util.stream.StreamSupport.stream(s.path("modules").spliterator(), false)
          .noneMatch(m -> m.path("transition").path("id").asText().equals(op.id));
    };
  }

  private static String outcome(JsonNode s, SoakLedger.Op op) {
    JsonNode e = entry(s, op.dpus.get(0), op.id);
    if (op.kind.equals("campaign")) {
      for (JsonNode r : s.path("recent")) {
        if (r.path("id").asText().equals(op.id)) {
          return r.path("outcome").asText();
        }
      }
    }
    return e == null ? "" : e.path("outcome").asText();
  }

  private static JsonNode entry(JsonNode s, String dpu, String id) {
    for (JsonNode h : s.path("history").path(dpu)) {
      if (h.path("campaignId").asText().equals(id)) {
        return h;
      }
    }
    return null;
  }

  private void kill(SoakLedger.Op op, long afterMillis, boolean quiet, SoakFleet fleet) throws Exception {
    String during = moment(op);
    long logged = lastJournaled(npu.output);
    npu.process.destroyForcibly(); // SIGKILL
    if (!npu.process.waitFor(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the killed NPU service (pid " + npu.process.pid() + ") did not exit");
    }
    npu.close();
    long killedAt = System.nanoTime();
    startNpu(fleet);
    JsonNode s = awaitUp();
    long restart = (System.nanoTime() - killedAt) / 1_000_000;
    SoakLedger.Kill k = new SoakLedger.Kill(ledger.kills.size() + 1, afterMillis, quiet, during, s.path("phase").asText(), logged,
        s.path("journalEvents").asLong(), restart);
    ledger.kills.add(k);
    op.kill = k;
    log.printf("soak: %s; #%d logged journaled, %d recovered; answering again after %d ms%n", op.describe(), logged,
        k.recovered(), restart);
  }

  /** Once the service says it is up (asked before, a client would sit in its reconnect backoff): its status. */
  private JsonNode awaitUp() throws Exception {
    npu.awaitLog("NPU service up", Duration.ofSeconds(60));
    return awaitStatus(Duration.ofSeconds(30), st -> true);
  }

  /** Where the operation is as the kill comes: the service's phase, and the module transition or DPU reboot in flight. */
  private String moment(SoakLedger.Op op) {
    try {
      JsonNode s = Json.read(npu.admin.status(StatusRequest.getDefaultInstance()).toCompletableFuture().get(2, TimeUnit.SECONDS).getJson());
      String where = s.path("phase").asText();
      for (JsonNode m : s.path("modules")) {
        if (m.path("transition").path("id").asText().equals(op.id)) {
          where = "transition " + m.path("transition").path("phase").asText();
        }
      }
      for (JsonNode n : s.path("dpuReboots")) {
        if (n.path("id").asText().equals(op.id)) {
          where = "notice " + n.path("decision").asText() + (n.path("going").asBoolean() ? ", going" : "");
        }
      }
      return where;
    } catch (Exception e) {
      return "unknown (" + Systems.rootMessage(e) + ")";
    }
  }

  private void startNpu(SoakFleet fleet) throws IOException {
    Path dir = options.dir();
    Path config = dir.resolve("soak-npu.conf");
    if (!Files.exists(config)) {
      Files.writeString(config, "include classpath(\"application.conf\")\n"
          + "# a DPU-initiated reboot is postponed once (the hook says \"not yet\" the first time it sees a notice), then acknowledged\n"
          + "dpu-coordinator.npu.dpu-reboot.hooks = [{ name = postpone-once, timeout = 5s, command = \"\"\"f='" + dir.resolve("postponed-")
          + "'\"$DPUCOORD_NOTICE_ID\"; [ -e \"$f\" ] && exit 0; touch \"$f\"; echo 'soak: not yet'; exit 75\"\"\" }]\n"
          + "dpu-coordinator.npu.history-per-dpu = 100000\n"
          + "dpu-coordinator.npu.recent-campaigns = 100000\n");
    }
    Map<String, String> env = new HashMap<>();
    env.put("DPUCOORD_REBOOT_CMD", "echo \"reboot $DPUCOORD_CAMPAIGN_ID\" >> '" + dir.resolve("reboots.log") + "'");
    env.put("DPUCOORD_FORCE_CMD", "echo \"force $DPUCOORD_CAMPAIGN_ID $DPUCOORD_DPU_ID\" >> '" + dir.resolve("forces.log") + "'");
    env.put("DPUCOORD_REBOOT_RETURN_AFTER", "200ms");
    env.put("DPUCOORD_BOOT_WAIT", "15s");
    env.put("DPUCOORD_MODULE_BOOT_WAIT", "15s");
    env.put("DPUCOORD_HALT_TIMEOUT", "2s"); // below SoakFleet.SLOW_SHUTDOWN_MS
    env.put("DPUCOORD_ACK_DEADLINE", "20s");
    env.put("DPUCOORD_SIGNAL_ATTEMPTS", "3");
    env.put("DPUCOORD_SIGNAL_TIMEOUT", "2s");
    env.put("DPUCOORD_GNOI_POLL_INTERVAL", "200ms");
    env.put("DPUCOORD_DPU_API_PORT", String.valueOf(dpuApiPort));
    env.put("DPUCOORD_DPU_REBOOT_POSTPONE_FOR", "1s");
    env.put("DPUCOORD_WATCH", "false");
    env.put("DPUCTL_JOURNAL_LOG_LEVEL", "DEBUG");
    if (!options.journalUrl().isBlank()) {
      env.put("DPUCOORD_JOURNAL_URL", options.journalUrl());
      env.put("DPUCOORD_JOURNAL_USER", options.journalUser());
      env.put("DPUCOORD_JOURNAL_PASSWORD", options.journalPassword());
    }
    npu = BenchNpu.start(List.of("-Dconfig.file=" + config), dir, adminPort, fleet.dpuArguments(), String.valueOf(incarnation++), env);
  }

  private JsonNode awaitStatus(Duration max, Predicate<JsonNode> ok) throws Exception {
    return npu.awaitStatus(max, s -> {
      ledger.saw(s);
      return ok.test(s);
    });
  }

  /** The highest sequence number the service logged as journaled (0 if none). */
  private static long lastJournaled(Path output) throws IOException {
    long last = 0;
    for (String line : lines(output)) {
      Matcher m = JOURNALED.matcher(line);
      if (m.find()) {
        last = Math.max(last, Long.parseLong(m.group(1)));
      }
    }
    return last;
  }

  private static List<String> lines(Path file) throws IOException {
    return Files.exists(file) ? Files.readAllLines(file) : new ArrayList<>();
  }
}
