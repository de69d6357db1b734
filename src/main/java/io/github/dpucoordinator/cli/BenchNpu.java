package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;

/** An NPU service process (`dpuctl npu`) and an admin client to it. */
final class BenchNpu implements AutoCloseable {
  final Process process;
  final Path output;
  final ActorSystem<Void> clientSystem;
  final NpuAdminClient admin;

  private BenchNpu(Process process, Path output, int port) {
    this.process = process;
    this.output = output;
    this.clientSystem = Systems.create("bench-client",
        com.typesafe.config.ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(AppConfig.load()));
    this.admin = NpuAdminClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", port, clientSystem)
        .withTls(false).withDeadline(Duration.ofSeconds(10)), clientSystem);
  }

  static BenchNpu start(List<String> javaOpts, Path dir, int port, BenchAgents agents, String tag) throws IOException {
    return start(javaOpts, dir, port, agents.running, tag, java.util.Map.of());
  }

  /** {@code env}: more of the service's environment (e.g. its TLS settings). */
  static BenchNpu start(List<String> javaOpts, Path dir, int port, List<AgentServer.Running> agents, String tag, java.util.Map<String, String> env)
      throws IOException {
    return start(javaOpts, dir, port, agents.stream().map(a -> a.dpuId() + "=127.0.0.1:" + a.port() + "/" + DpuEndpoint.REBOOT_SERVICE)
        .toList(), tag, env);
  }

  /** {@code dpus}: the service's {@code --dpu} arguments (ID=HOST:PORT[/PROTOCOL]). */
  static BenchNpu start(List<String> javaOpts, Path dir, int port, Iterable<String> dpus, String tag, java.util.Map<String, String> env)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(javaOpts);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "npu",
        "--data-dir", dir.resolve("data").toString(), "--admin-port", String.valueOf(port)));
    for (String dpu : dpus) {
      cmd.addAll(List.of("--dpu", dpu));
    }
    Path output = dir.resolve("npu-" + tag + ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
    pb.environment().put("DPUCOORD_REBOOT_RETURN_AFTER", "0ms");
    pb.environment().put("DPUCOORD_BOOT_WAIT", "30s");
    pb.environment().put("DPUCOORD_DPU_API_PORT", "0");
    pb.environment().put("DPUCTL_LOG_LEVEL", "INFO");
    pb.environment().putAll(env);
    return new BenchNpu(pb.start(), output, port);
  }

  String start(String reason) throws Exception {
    var r = admin.startCampaign(StartCampaignRequest.newBuilder().setReason(reason).build()).toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    if (!r.getAccepted()) {
      throw new IllegalStateException(r.getMessage());
    }
    return r.getCampaignId();
  }

  JsonNode awaitStatus(Duration max, Predicate<JsonNode> ok) throws Exception {
    return awaitStatus(max, Duration.ofMillis(10), ok);
  }

  /** The status once {@code ok} holds, asked every {@code every} (each asking costs the service a little CPU). */
  JsonNode awaitStatus(Duration max, Duration every, Predicate<JsonNode> ok) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    String last = "(no answer)";
    while (System.nanoTime() < deadline) {
      try {
        JsonNode s = Json.read(admin.status(StatusRequest.getDefaultInstance()).toCompletableFuture()
            .get(30, TimeUnit.SECONDS).getJson());
        if (ok.test(s)) {
          return s;
        }
        last = s.toString();
      } catch (Exception e) {
        last = Systems.rootMessage(e);
      }
      TimeUnit.MILLISECONDS.sleep(every.toMillis());
    }
    throw new IllegalStateException("status not reached within " + max + "; last: " + last + "\n" + Files.readString(output));
  }

  /** CPU time the service process has used so far (user + system, from /proc; 10 ms ticks). */
  long cpuMillis() throws IOException {
    String stat = Files.readString(Path.of("/proc/" + process.pid() + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10; // utime, stime (fields 14, 15), at 100 ticks per second
  }

  /** When {@code text} first appeared in the process output (System.nanoTime). */
  long awaitLog(String text, Duration max) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(output) && Files.readString(output).contains(text)) {
        return System.nanoTime();
      }
      TimeUnit.MILLISECONDS.sleep(5);
    }
    throw new IllegalStateException("'" + text + "' not logged within " + max + "\n" + Files.readString(output));
  }

  @Override
  public void close() {
    admin.close();
    clientSystem.terminate();
  }
}
