package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Ports;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.common.tls.Certificates;
import io.github.dpucoordinator.common.tls.ClientTls;
import io.github.dpucoordinator.proto.gnoi.system.SystemClient;
import io.github.dpucoordinator.proto.gnoi.system.TimeRequest;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * What TLS costs (`dpuctl benchmark --tls`): campaigns of 64 DPUs run by an NPU service process against 64 agents in
 * this JVM, once in plaintext and once with mutual TLS on every DPU (the NPU verifying each DPU's certificate and
 * presenting its own), each as one cold and five warm campaigns: wall time and the NPU process's CPU time. Then the
 * handshake alone: a new connection's first call to each agent, TLS against plaintext. Bounded in count and time.
 */
final class TlsBenchmark {
  private static final int DPUS = 64;
  private static final int CAMPAIGNS = 11;
  private static final long SHUTDOWN_MS = 200;

  private TlsBenchmark() {}

  static void run(PrintStream out) throws Exception {
    List<String> javaOpts = Arrays.stream(System.getenv().getOrDefault("DPUCTL_JAVA_OPTS", "").trim().split("\\s+"))
        .filter(s -> !s.isEmpty()).toList();
    Path dir = Files.createTempDirectory("dpuctl-bench-tls-");
    Certificates.Issued ca = Certificates.authority("bench CA", Duration.ofDays(400));
    Path caFile = dir.resolve("ca.pem");
    Certificates.write(Certificates.issue(ca, "npu", List.of("npu"), List.of("127.0.0.1"), Duration.ofDays(90)), dir.resolve("npu.pem"),
        dir.resolve("npu-key.pem"), ca.certificate());
    Certificates.write(ca, caFile, dir.resolve("ca-key.pem"));
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(ch.qos.logback.classic.Level.WARN);
    out.printf("%nTLS cost: %d DPUs (RebootService, long polls), %d ms shutdown each, agents in this JVM, the NPU service a process of its own;%n"
        + "%d campaigns per mode, the first cold; NPU CPU = user + system time of its process during the campaign (10 ms ticks).%n", DPUS,
        SHUTDOWN_MS, CAMPAIGNS);
    Config base = AppConfig.load();
    ActorSystem<Void> plainSystem = Systems.create("bench-plain", base);
    ActorSystem<Void> tlsSystem = Systems.create("bench-tls", base);
    try {
      List<AgentServer.Running> plain = agents(plainSystem, base, dir, null);
      List<AgentServer.Running> tls = agents(tlsSystem, base, dir, ca);
      campaigns(out, "plaintext", javaOpts, dir, plain, Map.of());
      campaigns(out, "mutual TLS", javaOpts, dir, tls, Map.of("DPUCOORD_DPU_TLS_MODE", "tls", "DPUCOORD_DPU_TLS_CA", caFile.toString(),
          "DPUCOORD_DPU_TLS_CERT", dir.resolve("npu.pem").toString(), "DPUCOORD_DPU_TLS_KEY", dir.resolve("npu-key.pem").toString()));
      Config client = AppConfig.with(AppConfig.with(AppConfig.with(AppConfig.with(base, "dpu-coordinator.cli.tls.mode", "tls"),
          "dpu-coordinator.cli.tls.ca", caFile.toString()), "dpu-coordinator.cli.tls.cert", dir.resolve("npu.pem").toString()),
          "dpu-coordinator.cli.tls.key", dir.resolve("npu-key.pem").toString());
      long plainNanos = firstCalls(plainSystem, plain, ClientTls.plaintext());
      long tlsNanos = firstCalls(tlsSystem, tls, ClientTls.at(client, "dpu-coordinator.cli.tls"));
      out.printf("  A new connection's first call (gNOI Time), median over %d DPUs: plaintext %.2f ms, mutual TLS %.2f ms: handshake %.2f ms per DPU%n",
          DPUS, plainNanos / 1e6, tlsNanos / 1e6, (tlsNanos - plainNanos) / 1e6);
    } finally {
      plainSystem.terminate();
      tlsSystem.terminate();
      io.github.dpucoordinator.sim.Simulation.deleteTree(dir);
    }
  }

  /** {@code ca} null: plaintext agents; else agents serving mutual TLS with a certificate of their own that {@code ca} signed. */
  private static List<AgentServer.Running> agents(ActorSystem<Void> system, Config base, Path dir, Certificates.Issued ca) throws Exception {
    List<AgentServer.Running> out = new ArrayList<>();
    for (int i = 0; i < DPUS; i++) {
      String id = (ca == null ? "P" : "T") + i;
      Config c = base;
      if (ca != null) {
        Path cert = dir.resolve(id + ".pem");
        Certificates.write(Certificates.issue(ca, id, List.of(id), List.of("127.0.0.1"), Duration.ofDays(90)), cert, dir.resolve(id + "-key.pem"),
            ca.certificate());
        Path caFile = dir.resolve("ca.pem");
        c = AppConfig.with(AppConfig.with(AppConfig.with(AppConfig.with(AppConfig.with(c, "dpu-coordinator.agent.tls.mode", "mtls"),
            "dpu-coordinator.agent.tls.cert", cert.toString()), "dpu-coordinator.agent.tls.key", dir.resolve(id + "-key.pem").toString()),
            "dpu-coordinator.agent.tls.ca", caFile.toString()), "dpu-coordinator.agent.tls.allowed-clients", List.of("npu"));
      }
      AgentSettings s = AgentSettings.create(c).withId(id).withPort(0).withSteps(List.of(StepSpec.simulated("work", Duration.ofMillis(SHUTDOWN_MS))))
          .withRestartAfter(Optional.of(Duration.ZERO));
      out.add(AgentServer.start(system, s, c).toCompletableFuture().get(30, TimeUnit.SECONDS));
    }
    return out;
  }

  private static void campaigns(PrintStream out, String mode, List<String> javaOpts, Path dir, List<AgentServer.Running> agents,
      Map<String, String> env) throws Exception {
    Path run = Files.createDirectories(dir.resolve(mode.replace(' ', '-')));
    try (BenchNpu npu = BenchNpu.start(javaOpts, run, Ports.freeLoopbackPort(), agents, mode.replace(' ', '-'), env)) {
      try {
        npu.awaitStatus(Duration.ofSeconds(60), s -> s.path("phase").asText().equals("Idle"));
        List<Long> wall = new ArrayList<>();
        List<Long> cpu = new ArrayList<>();
        for (int i = 0; i < CAMPAIGNS; i++) {
          long cpu0 = npu.cpuMillis();
          long t0 = System.nanoTime();
          String id = npu.start("tls benchmark " + i);
          npu.awaitStatus(Duration.ofSeconds(120), s -> s.path("lastCampaign").path("id").asText().equals(id)
              && !s.path("lastCampaign").path("inFlight").asBoolean() && s.path("lastCampaign").path("outcome").asText().equals("success"));
          wall.add((System.nanoTime() - t0) / 1_000_000);
          cpu.add(npu.cpuMillis() - cpu0);
        }
        List<Long> warmWall = new ArrayList<>(wall.subList(1, wall.size()));
        List<Long> warmCpu = new ArrayList<>(cpu.subList(1, cpu.size()));
        warmWall.sort(null);
        warmCpu.sort(null);
        out.printf("  %-10s campaign wall: cold %5d ms, warm median %5d ms | NPU CPU: cold %5d ms, warm median %5d ms (%.2f ms per DPU)%n",
            mode, wall.get(0), warmWall.get(warmWall.size() / 2), cpu.get(0), warmCpu.get(warmCpu.size() / 2),
            warmCpu.get(warmCpu.size() / 2) / (double) DPUS);
        out.printf("             all (ms): wall %s, CPU %s%n", wall, cpu);
      } finally {
        npu.process.destroy();
        npu.process.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  /** The median time of a new client's first gNOI Time call to each agent. */
  private static long firstCalls(ActorSystem<Void> system, List<AgentServer.Running> agents, ClientTls tls) throws Exception {
    List<Long> nanos = new ArrayList<>();
    for (AgentServer.Running a : agents) {
      long t0 = System.nanoTime();
      SystemClient c = SystemClient.create(tls.apply(GrpcClientSettings.connectToServiceAt("127.0.0.1", a.port(), system)
          .withDeadline(Duration.ofSeconds(10)), "127.0.0.1"), system);
      try {
        c.time(TimeRequest.getDefaultInstance()).toCompletableFuture().get(20, TimeUnit.SECONDS);
        nanos.add(System.nanoTime() - t0);
      } finally {
        c.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
      }
    }
    nanos.sort(null);
    return nanos.get(nanos.size() / 2);
  }
}
