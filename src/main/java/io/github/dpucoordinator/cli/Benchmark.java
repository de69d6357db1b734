package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Ports;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The figures the README records: the NPU's own cost with its DPUs out of its process ({@link FleetBenchmark}); time
 * from process start to a resumed campaign after SIGKILL with a 10,000-event journal; idle RSS of the NPU service with
 * 8 DPUs. Every loop is bounded in count and time.
 */
final class Benchmark {
  private static final long JOURNAL_EVENTS = 10_000;
  private static final int MAX_FILL_CAMPAIGNS = 1_000;
  private static final Duration MAX_FILL_TIME = Duration.ofMinutes(10);
  private static final int RESUME_ROUNDS = 3;

  private final PrintStream out;
  private final List<String> javaOpts;

  private Benchmark(PrintStream out) {
    this.out = out;
    this.javaOpts = javaOpts();
  }

  static int run(PrintStream out, List<Integer> sizes) throws Exception {
    return new Benchmark(out).all(sizes);
  }

  private int all(List<Integer> sizes) throws Exception {
    out.println("Machine: " + machine());
    out.println("JVM options of the measured NPU processes: " + String.join(" ", javaOpts));
    if (!sizes.isEmpty()) {
      new FleetBenchmark(out, javaOpts, false, false).run(sizes);
    }
    try (BenchAgents agents = new BenchAgents(8)) {
      resumeAfterSigkill(agents);
      idleRss(agents);
    }
    return ExitCodes.OK;
  }

  static List<String> javaOpts() {
    String opts = System.getenv().getOrDefault("DPUCTL_JAVA_OPTS", "");
    return Arrays.stream(opts.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
  }

  // ---- 2. resume after SIGKILL ----

  private void resumeAfterSigkill(BenchAgents agents) throws Exception {
    out.printf("%n2. Resume after SIGKILL with a journal of at least %d events.%n", JOURNAL_EVENTS);
    Path dir = Files.createTempDirectory("dpuctl-bench-");
    int port = Ports.freeLoopbackPort();
    BenchNpu npu = BenchNpu.start(javaOpts, dir, port, agents, "fill");
    try {
      JsonNode s = npu.awaitStatus(Duration.ofSeconds(60), x -> x.path("phase").asText().equals("Idle"));
      long started = System.nanoTime();
      int campaigns = 0;
      while (s.path("journalEvents").asLong() < JOURNAL_EVENTS) {
        if (campaigns >= MAX_FILL_CAMPAIGNS || System.nanoTime() - started > MAX_FILL_TIME.toNanos()) {
          throw new IllegalStateException("could not fill the journal in time: " + s.path("journalEvents").asLong() + " events");
        }
        String id = npu.start("fill");
        s = npu.awaitStatus(Duration.ofSeconds(60), x -> finished(x, id));
        campaigns++;
      }
      out.printf("   journal filled: %d events from %d campaigns in %.1f s (snapshot every %d events)%n",
          s.path("journalEvents").asLong(), campaigns, (System.nanoTime() - started) / 1e9,
          AppConfig.load().getInt("dpu-coordinator.npu.snapshot-every"));

      List<Long> recoveredMs = new ArrayList<>();
      List<Long> boundMs = new ArrayList<>();
      for (int round = 0; round < RESUME_ROUNDS; round++) {
        Files.createFile(agents.gate);
        String id = npu.start("killed mid-campaign");
        npu.awaitStatus(Duration.ofSeconds(30), x -> allDpus(x, "ACKNOWLEDGED"));
        npu.process.destroyForcibly();
        npu.process.waitFor(10, TimeUnit.SECONDS);
        npu.close();

        long t0 = System.nanoTime();
        npu = BenchNpu.start(javaOpts, dir, port, agents, "resumed-" + round);
        recoveredMs.add(TimeUnit.NANOSECONDS.toMillis(npu.awaitLog("recovered in phase WaitForAcknowledgments", Duration.ofSeconds(60)) - t0));
        boundMs.add(TimeUnit.NANOSECONDS.toMillis(npu.awaitLog("NPU service: ", Duration.ofSeconds(60)) - t0));
        Files.delete(agents.gate);
        JsonNode done = npu.awaitStatus(Duration.ofSeconds(60), x -> finished(x, id));
        out.printf("   round %d: resumed campaign %s finished %s%n", round + 1, id, done.path("lastCampaign").path("outcome").asText());
      }
      out.printf("   process start -> campaign resumed (coordinator recovered, DPU links restarted): median %d ms, all %s%n",
          FleetBenchmark.median(recoveredMs), recoveredMs);
      out.printf("   process start -> admin API bound: median %d ms, all %s%n", FleetBenchmark.median(boundMs), boundMs);
      out.printf("   shutdown runs per DPU over all %d campaigns: %s%n", campaigns + RESUME_ROUNDS, agents.shutdownRuns());
    } finally {
      npu.process.destroyForcibly();
      npu.close();
      io.github.dpucoordinator.sim.Simulation.deleteTree(dir);
    }
  }

  // ---- 3. idle RSS ----

  private void idleRss(BenchAgents agents) throws Exception {
    out.printf("%n3. Idle RSS of the NPU service with 8 DPUs.%n");
    Path dir = Files.createTempDirectory("dpuctl-bench-rss-");
    BenchNpu npu = BenchNpu.start(javaOpts, dir, Ports.freeLoopbackPort(), agents, "rss");
    try {
      npu.awaitStatus(Duration.ofSeconds(60), x -> x.path("phase").asText().equals("Idle"));
      settle();
      long idle = FleetBenchmark.rssKb(npu.process.pid());
      String id = npu.start("rss");
      npu.awaitStatus(Duration.ofSeconds(60), x -> finished(x, id));
      settle();
      long afterCampaign = FleetBenchmark.rssKb(npu.process.pid());
      out.printf("   idle after start: %d MB; idle after one campaign: %d MB%n", idle / 1024, afterCampaign / 1024);
    } finally {
      npu.process.destroyForcibly();
      npu.close();
      io.github.dpucoordinator.sim.Simulation.deleteTree(dir);
    }
  }

  private static void settle() throws InterruptedException {
    TimeUnit.SECONDS.sleep(5);
  }

  // ---- helpers ----

  private static boolean finished(JsonNode s, String id) {
    JsonNode c = s.path("lastCampaign");
    return c.path("id").asText().equals(id) && !c.path("inFlight").asBoolean();
  }

  private static boolean allDpus(JsonNode s, String state) {
    JsonNode dpus = s.path("lastCampaign").path("dpus");
    for (JsonNode d : dpus) {
      if (!d.path("state").asText().equals(state)) {
        return false;
      }
    }
    return dpus.size() > 0;
  }

  private static String machine() {
    String cpu = "unknown CPU";
    try {
      cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
          .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
    } catch (IOException ignored) {
      // not Linux: say so in the line below
    }
    return Runtime.getRuntime().availableProcessors() + " cores (" + cpu + "), "
        + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MB max heap here, Java " + System.getProperty("java.version");
  }
}
