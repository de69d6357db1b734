package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.machine.AgentMetrics;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Ports;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.sim.GnoiStandIn;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * What the NPU service itself costs with its DPUs out of its process: the service runs as `dpuctl npu` (the launcher's
 * JVM options), the DPUs in this JVM, the project's agents over the seed's protocol (long polls) and light SONiC-like
 * stand-ins over gNOI ({@link GnoiStandIn}). For each protocol and fleet size, one campaign right after the service
 * started (cold) and {@value #WARM} more (warm). Each figure is printed beside the one the README records
 * ({@code benchmark-recorded.properties}), so a regression shows. Every loop is bounded in count and time.
 */
final class FleetBenchmark {
  static final int WARM = 5;
  private static final long SHUTDOWN_MS = 1_000;
  private static final long RESTART_MS = 300;
  private static final Duration CAMPAIGN_MAX = Duration.ofMinutes(3);
  /** How often the benchmark asks the service for its status (the asking costs the NPU a little CPU, counted in its figures). */
  private static final Duration POLL = Duration.ofMillis(200);

  private final PrintStream out;
  private final List<String> javaOpts;
  private final Properties recorded = new Properties();
  /** The NPU closes idle connections (watch off, idle-timeout 1 s) and each campaign waits until none is open: opened by the signals. */
  private final boolean coldConnections;
  /** The NPU's threads on CPU 0, the DPUs' (this JVM's) on the others: neither side's work queues behind the other's. */
  private final boolean pinned;
  /** The machine's CPUs, counted before this JVM pins itself to some of them. */
  private final int cpus = Runtime.getRuntime().availableProcessors();

  FleetBenchmark(PrintStream out, List<String> javaOpts, boolean coldConnections, boolean pinned) throws Exception {
    this.out = out;
    this.javaOpts = javaOpts;
    this.coldConnections = coldConnections;
    this.pinned = pinned;
    try (var in = FleetBenchmark.class.getResourceAsStream("/benchmark-recorded.properties")) {
      if (in != null) {
        recorded.load(in);
      }
    }
  }

  /** One campaign's figures. */
  private record Campaign(long untilReboot, long slowestOwn, long lastAck, List<Long> detection, double statusCallsPerDpu, long cpuMillis,
      long wall) {
    long overhead() {
      return untilReboot - slowestOwn;
    }
  }

  /** The DPUs: their `--dpu` arguments, and what each measured of its last shutdown. */
  private interface Fleet extends AutoCloseable {
    List<String> dpuArgs();

    long ownShutdown(String id);

    long completedAt(String id);

    long statusCalls();
  }

  void run(List<Integer> sizes) throws Exception {
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(ch.qos.logback.classic.Level.WARN); // the DPUs' own lines: thousands per campaign
    out.printf("%n1. The NPU's own cost, DPUs out of its process (%d ms shutdowns; %d warm campaigns after a cold one; the README's figures"
        + " in brackets).%n", SHUTDOWN_MS, WARM);
    out.println("   overhead: start -> reboot issued, minus the slowest DPU's own shutdown; acks: start -> last acknowledgment journaled;");
    out.println("   detection: the DPU's completion -> the NPU journaling it (warm, all DPUs); CPU: the NPU process's user+system time.");
    for (String protocol : List.of(DpuEndpoint.REBOOT_SERVICE, DpuEndpoint.GNOI)) {
      for (int n : sizes) {
        measure(protocol, n);
      }
    }
  }

  private void measure(String protocol, int n) throws Exception {
    ActorSystem<Void> system = Systems.create("bench-fleet", AppConfig.with(AppConfig.load(), "dpu-coordinator.agent.metrics.enabled", false));
    Path dir = Files.createTempDirectory("dpuctl-bench-fleet-");
    try (Fleet fleet = protocol.equals(DpuEndpoint.GNOI) ? standIns(system, n) : agents(system, n)) {
      Map<String, String> env = coldConnections
          ? Map.of("DPUCOORD_METRICS_ENABLED", "false", "DPUCOORD_WATCH", "false", "DPUCOORD_DPU_IDLE_TIMEOUT", "1s")
          : Map.of("DPUCOORD_METRICS_ENABLED", "false");
      BenchNpu npu = BenchNpu.start(javaOpts, dir, Ports.freeLoopbackPort(), fleet.dpuArgs(), protocol + "-" + n, env);
      try {
        npu.awaitStatus(Duration.ofMinutes(2), POLL, s -> s.path("phase").asText().equals("Idle"));
        if (pinned) {
          pin(npu.process.pid(), "0");
          pin(ProcessHandle.current().pid(), cpus == 2 ? "1" : "1-" + (cpus - 1));
        }
        List<Campaign> runs = new ArrayList<>();
        for (int i = 0; i <= WARM; i++) {
          runs.add(campaign(npu, fleet));
        }
        report(protocol, n, runs, rssKb(npu.process.pid()));
      } finally {
        npu.process.destroyForcibly();
        npu.close();
      }
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      io.github.dpucoordinator.sim.Simulation.deleteTree(dir); // the service's journal and log
    }
  }

  private Campaign campaign(BenchNpu npu, Fleet fleet) throws Exception {
    if (coldConnections) {
      awaitNoConnection(fleet);
    }
    long calls = fleet.statusCalls();
    long cpu = npu.cpuMillis();
    long t0 = System.nanoTime();
    String id = npu.start("benchmark");
    JsonNode s = npu.awaitStatus(CAMPAIGN_MAX, POLL, x -> x.path("lastCampaign").path("id").asText().equals(id)
        && !x.path("lastCampaign").path("inFlight").asBoolean());
    long wall = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    long cpuMillis = npu.cpuMillis() - cpu;
    JsonNode c = s.path("lastCampaign");
    if (!c.path("outcome").asText().equals("success")) {
      throw new IllegalStateException("campaign " + id + " ended " + c.path("outcome").asText() + ": " + c);
    }
    long slowest = 0;
    long lastAck = 0;
    List<Long> detection = new ArrayList<>();
    for (JsonNode d : c.path("dpus")) {
      String dpu = d.path("id").asText();
      slowest = Math.max(slowest, fleet.ownShutdown(dpu));
      lastAck = Math.max(lastAck, d.path("acknowledgedAt").asLong() - c.path("startedAt").asLong());
      detection.add(d.path("completedAt").asLong() - fleet.completedAt(dpu));
    }
    int n = c.path("dpus").size();
    return new Campaign(c.path("rebootAt").asLong() - c.path("startedAt").asLong(), slowest, lastAck, detection,
        (fleet.statusCalls() - calls) / (double) n, cpuMillis, wall);
  }

  /** Every thread of process {@code pid} (and the threads they start later) onto {@code cpus}, with util-linux's taskset. */
  private static void pin(long pid, String cpus) throws Exception {
    Process p = new ProcessBuilder("taskset", "-a", "-p", "-c", cpus, String.valueOf(pid)).redirectErrorStream(true).start();
    String said = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("taskset could not pin process " + pid + " to CPUs " + cpus + ": " + said);
    }
  }

  /** Until the NPU has no connection open to any of the DPUs (closed after its idle timeout), at most a minute. */
  private static void awaitNoConnection(Fleet fleet) throws Exception {
    List<Integer> ports = fleet.dpuArgs().stream().map(a -> DpuEndpoint.parse(a).port()).toList();
    long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (System.nanoTime() < end) {
      long open = 0;
      for (int port : ports) {
        open += Ports.establishedTo(port);
      }
      if (open == 0) {
        return;
      }
      Thread.sleep(POLL.toMillis());
    }
    throw new IllegalStateException("the NPU kept connections to its DPUs open for a minute (connections.idle-timeout 1s)");
  }

  private void report(String protocol, int n, List<Campaign> runs, long rssKb) {
    Campaign cold = runs.get(0);
    List<Campaign> warm = runs.subList(1, runs.size());
    List<Long> detection = new ArrayList<>();
    warm.forEach(r -> detection.addAll(r.detection()));
    String key = (coldConnections ? "cold-connections." : "") + (pinned ? "pinned." : "") + protocol + "." + n + ".";
    Map<String, String> figures = new LinkedHashMap<>();
    figures.put("overhead.cold", cold.overhead() + " ms");
    figures.put("overhead.warm", median(warm.stream().map(Campaign::overhead).toList()) + " ms");
    figures.put("acks.warm", median(warm.stream().map(Campaign::lastAck).toList()) + " ms");
    figures.put("detection.median", percentile(detection, 50) + " ms");
    figures.put("detection.p99", percentile(detection, 99) + " ms");
    figures.put("status-calls", String.format("%.1f", warm.stream().mapToDouble(Campaign::statusCallsPerDpu).average().orElse(0)));
    figures.put("cpu.cold", String.format("%.2f ms", cold.cpuMillis() / (double) n));
    figures.put("cpu.warm", String.format("%.2f ms", median(warm.stream().map(Campaign::cpuMillis).toList()) / (double) n));
    figures.put("cold-over-warm", String.format("%.2f", cold.untilReboot() / (double) median(warm.stream().map(Campaign::untilReboot).toList())));
    figures.put("rss", rssKb / 1024 + " MB");
    out.printf("   %-14s N=%4d%s%s:", protocol, n, coldConnections ? " (connections opened by each campaign)" : "",
        pinned ? " (NPU on CPU 0, DPUs on the others)" : "");
    figures.forEach((k, v) -> out.printf(" %s %s%s;", k, v, recorded.containsKey(key + k) ? " [" + recorded.getProperty(key + k) + "]" : ""));
    out.println();
    out.printf("   %-14s         per campaign (ms): until reboot %s, slowest own shutdown %s, whole %s%n", "",
        runs.stream().map(Campaign::untilReboot).toList(), runs.stream().map(Campaign::slowestOwn).toList(), runs.stream().map(Campaign::wall).toList());
  }

  // ---- the fleets ----

  private static Fleet agents(ActorSystem<Void> system, int n) throws Exception {
    List<AgentServer.Running> running = new ArrayList<>();
    var config = AppConfig.load();
    for (int i = 0; i < n; i++) {
      AgentSettings s = AgentSettings.create(config).withId("A" + i).withPort(0)
          .withSteps(List.of(StepSpec.simulated("work", Duration.ofMillis(SHUTDOWN_MS)))).withRestartAfter(Optional.of(Duration.ofMillis(RESTART_MS)));
      running.add(AgentServer.start(system, s).toCompletableFuture().get(30, TimeUnit.SECONDS));
    }
    return new Fleet() {
      public List<String> dpuArgs() {
        return running.stream().map(a -> a.dpuId() + "=127.0.0.1:" + a.port() + "/" + DpuEndpoint.REBOOT_SERVICE).toList();
      }

      public long ownShutdown(String id) {
        return AgentMetrics.lastShutdownMillis(id);
      }

      public long completedAt(String id) {
        return AgentMetrics.lastShutdownEnd(id);
      }

      public long statusCalls() {
        return 0;
      }

      public void close() {}
    };
  }

  private static Fleet standIns(ActorSystem<Void> system, int n) throws Exception {
    Map<String, GnoiStandIn> dpus = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      dpus.put("G" + i, GnoiStandIn.start(system, SHUTDOWN_MS, RESTART_MS));
    }
    return new Fleet() {
      public List<String> dpuArgs() {
        return dpus.entrySet().stream().map(e -> e.getKey() + "=127.0.0.1:" + e.getValue().port() + "/" + DpuEndpoint.GNOI).toList();
      }

      public long ownShutdown(String id) {
        return dpus.get(id).haltMillis();
      }

      public long completedAt(String id) {
        return dpus.get(id).lastHaltEnd();
      }

      public long statusCalls() {
        return dpus.values().stream().mapToLong(GnoiStandIn::statusCalls).sum();
      }

      public void close() {}
    };
  }

  // ---- helpers ----

  static long median(List<Long> values) {
    return percentile(values, 50);
  }

  static long percentile(List<Long> values, int p) {
    List<Long> sorted = new ArrayList<>(values);
    sorted.sort(Long::compare);
    return sorted.isEmpty() ? -1 : sorted.get(Math.max(0, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
  }

  static long rssKb(long pid) throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    throw new java.io.IOException("no VmRSS for pid " + pid);
  }
}
