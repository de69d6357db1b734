package io.github.dpucoordinator.offloader;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.npu.containerz.ContainerzServer;
import io.github.dpucoordinator.npu.containerz.ContainerzSettings;
import io.github.dpucoordinator.proto.offloader.OffloaderClient;
import io.github.dpucoordinator.sim.ImageTarballs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.http.javadsl.ServerBinding;

/**
 * A real NPU Containerz service (process runtime) on loopback, an image dir of script images, and offloader daemons
 * started against them on their own data dirs; the tests' shared setup.
 */
public final class OffloaderHarness implements AutoCloseable {
  /** Runs until SIGTERM; says which image it is. {@code $MARK} makes its processes findable. */
  public static final String SERVICE = "echo \"started $IMAGE\"\ntrap 'echo stopping; exit 0' TERM\nwhile :; do sleep 0.1 & wait $!; done\n";

  public final ActorTestKit kit = ActorTestKit.create("offloader-npu", AppConfig.load());
  final Path dir;
  final Path imageDir;
  final Path versionFile;
  public final int npuPort;
  private ServerBinding npu;
  private final io.github.dpucoordinator.common.GrpcServers.Service service;
  private final io.github.dpucoordinator.npu.containerz.ContainerRuntime runtime;
  private final io.github.dpucoordinator.common.tls.ServerTls tls;
  public final io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient containerz;

  public OffloaderHarness(Path dir) throws Exception {
    this(dir, Map.of());
  }

  /** {@code npuSettings}: keys under the NPU's Containerz section (the runtime, for one). */
  public OffloaderHarness(Path dir, Map<String, Object> npuSettings) throws Exception {
    this(dir, npuSettings, null);
  }

  /**
   * {@code lab} non-null: the NPU's Containerz serves mutual TLS with {@code lab}'s "npu" certificate (DPU0, DPU1 and
   * "operator" may call it, a DPU for its own containers only), and this harness's own client is the operator.
   */
  public OffloaderHarness(Path dir, Map<String, Object> npuSettings, io.github.dpucoordinator.common.tls.TlsLab lab) throws Exception {
    this.dir = dir;
    this.imageDir = Files.createDirectories(dir.resolve("images"));
    this.versionFile = dir.resolve("sonic_version.yml");
    Config config = AppConfig.with(kit.system().settings().config(), ContainerzSettings.KEY + ".start-check", "500ms");
    config = AppConfig.with(config, ContainerzSettings.KEY + ".stop-grace", "3s");
    for (var e : npuSettings.entrySet()) {
      config = AppConfig.with(config, ContainerzSettings.KEY + "." + e.getKey(), e.getValue());
    }
    ContainerzSettings settings = ContainerzSettings.of(config, dir.resolve("npu"));
    ContainerzServer.Opened opened = ContainerzServer.open(kit.system(), settings, Set.of("DPU0", "DPU1"),
        lab == null ? Set.of() : Set.of("operator"));
    runtime = opened.runtime();
    service = opened.service();
    String block = "dpu-coordinator.npu.dpu-api.tls";
    this.tls = lab == null ? io.github.dpucoordinator.common.tls.ServerTls.plaintext() : io.github.dpucoordinator.common.tls.ServerTls.at(
        lab.server(config, block, "mtls", "npu"), block);
    npu = bind(0);
    npuPort = npu.localAddress().getPort();
    io.github.dpucoordinator.common.tls.ClientTls operator = io.github.dpucoordinator.common.tls.ClientTls.plaintext();
    if (lab != null) {
      lab.issue("operator");
      Config c = lab.client(config, "dpu-coordinator.cli.tls", "operator");
      operator = io.github.dpucoordinator.common.tls.ClientTls.from(c.getConfig("dpu-coordinator.cli.tls"), "dpu-coordinator.cli.tls",
          c.getConfig("dpu-coordinator.tls"));
    }
    containerz = io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient.create(operator.apply(GrpcClientSettings.connectToServiceAt(
        "127.0.0.1", npuPort, kit.system()), "127.0.0.1"), kit.system());
  }

  /** A script image {@code image:tag} in the image dir (not on the NPU until the offloader deploys it). */
  public Path image(String image, String tag, String script) throws Exception {
    Path file = imageDir.resolve(image).resolve(tag + ".tar");
    Files.createDirectories(file.getParent());
    return ImageTarballs.scriptImage(file, image, tag, script);
  }

  public void dpuVersion(String version) throws Exception {
    Files.writeString(versionFile, "build_version: '" + version + "'\nasic_type: vs\n");
  }

  /** The offloader's configuration: fast checks and backoff, its data dir {@code data}, {@code containers} in HOCON. */
  public Config config(Path data, String containers, Map<String, Object> more) {
    Config c = AppConfig.load();
    String k = OffloaderSettings.KEY;
    c = AppConfig.with(c, k + ".dpu-id", "DPU0");
    c = AppConfig.with(c, k + ".npu-address", "127.0.0.1:" + npuPort);
    c = AppConfig.with(c, k + ".data-dir", data.toString());
    c = AppConfig.with(c, k + ".api-port", 0);
    c = AppConfig.with(c, k + ".version-file", versionFile.toString());
    c = AppConfig.with(c, k + ".image-dir", imageDir.toString());
    c = AppConfig.with(c, k + ".call-timeout", "10s");
    c = AppConfig.with(c, k + ".health.interval", "200ms");
    c = AppConfig.with(c, k + ".health.tcp-timeout", "200ms");
    c = AppConfig.with(c, k + ".health.failure-threshold", 2);
    c = AppConfig.with(c, k + ".restart.initial-delay", "100ms");
    c = AppConfig.with(c, k + ".restart.max-delay", "400ms");
    c = AppConfig.with(c, k + ".restart.max-restarts", 3);
    c = AppConfig.with(c, k + ".restart.window", "60s");
    c = AppConfig.with(c, k + ".upgrade.min-healthy", "1s");
    c = AppConfig.with(c, k + ".upgrade.deadline", "8s");
    for (var e : more.entrySet()) {
      c = AppConfig.with(c, k + "." + e.getKey(), e.getValue());
    }
    return com.typesafe.config.ConfigFactory.parseString(k + ".containers = " + containers).withFallback(c).resolve();
  }

  public OffloaderClient client(OffloaderDaemon daemon) {
    return OffloaderClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", daemon.apiPort(), kit.system()).withTls(false), kit.system());
  }

  /** What the NPU reports for DPU0's container {@code name} (instance DPU0-name): "STATUS name:tag", or "MISSING". */
  public String onNpu(String name) throws Exception {
    return containerz.listContainer(io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest.newBuilder().setAll(true).build())
        .runWith(org.apache.pekko.stream.javadsl.Sink.seq(), kit.system()).toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
        .filter(c -> c.getName().equals("DPU0-" + name)).map(c -> c.getStatus() + " " + c.getImageName()).findFirst().orElse("MISSING");
  }

  /** SIGKILLs the processes of the container {@code name} on the NPU (a real crash); how many were killed. */
  public long crash(String name) throws Exception {
    List<ProcessHandle> in = processes(name);
    in.forEach(ProcessHandle::destroyForcibly);
    return in.size();
  }

  /** The processes of the container {@code name} on the NPU now (asked of its Containerz, so while it answers). */
  public List<ProcessHandle> processes(String name) throws Exception {
    String id = containerz.listContainer(io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest.newBuilder().setAll(true).build())
        .runWith(org.apache.pekko.stream.javadsl.Sink.seq(), kit.system()).toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
        .filter(c -> c.getName().equals("DPU0-" + name)).findFirst().orElseThrow().getId();
    String prefix = dir.resolve("npu").resolve("containerz").resolve("containers").resolve(id).toAbsolutePath().toString();
    return ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.startsWith(prefix)).orElse(false)).toList();
  }

  /** The NPU's Containerz stops answering (its port closed, its connections cut); its containers keep running. */
  public void npuDown() throws Exception {
    npu.terminate(java.time.Duration.ofSeconds(1)).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** ... and answers again, on the same port. */
  public void npuUp() throws Exception {
    npu = bind(npuPort);
  }

  private ServerBinding bind(int port) throws Exception {
    return GrpcServers.bind(kit.system(), "127.0.0.1", port, List.of(service), tls,
        io.github.dpucoordinator.common.tls.PeerAuth.Policy.allowList(List.of("DPU0", "DPU1", "operator"), "the test's allow-list"), "the NPU's DPU API")
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A check that may throw anything; a failure is retried by {@link #await}. */
  public interface Check {
    void run() throws Exception;
  }

  /** Retries {@code check} every 100 ms until it passes, up to {@code max}. */
  public void await(java.time.Duration max, Check check) {
    kit.createTestProbe().awaitAssert(max, java.time.Duration.ofMillis(100), () -> {
      try {
        check.run();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      return null;
    });
  }

  @Override
  public void close() {
    runtime.close();
    kit.shutdownTestKit();
  }
}
