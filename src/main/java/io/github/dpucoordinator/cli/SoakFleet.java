package io.github.dpucoordinator.cli;

import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.machine.AgentSnapshot;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.offloader.OffloaderSettings;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest;
import io.github.dpucoordinator.proto.offloader.ContainerRef;
import io.github.dpucoordinator.proto.offloader.ContainerState;
import io.github.dpucoordinator.proto.offloader.OffloaderClient;
import io.github.dpucoordinator.sim.ImageTarballs;
import java.nio.file.Files;
import java.nio.file.Path;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlClient;
import io.github.dpucoordinator.proto.agentctl.RebootNoticeStatus;
import io.github.dpucoordinator.proto.agentctl.RequestRebootRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * The soak's DPUs: real agents in this JVM on loopback ports, alternately on gNOI and the seed's RebootService,
 * with shutdowns of different lengths; every fourth has a shutdown step that fails, and every fourth (another) shuts
 * down slower than the NPU's halt timeout, so it is escalated. Each comes back by itself
 * shortly after a halt or reboot, and announces its own reboots to the NPU's DPU API. G0 runs an offloader too, with one
 * container on the NPU that follows G0's SONiC version.
 */
final class SoakFleet implements AutoCloseable {
  /** Longer than the halt timeout the soak gives the NPU. */
  static final long SLOW_SHUTDOWN_MS = 2_600;
  private final ActorSystem<Void> system;
  private final List<AgentServer.Running> agents = new ArrayList<>();
  private final Map<String, String> protocols = new LinkedHashMap<>();
  private final Map<String, DpuAgentControlClient> controls = new LinkedHashMap<>();

  /** The container G0's offloader runs on the NPU, and its image (a version per DPU version, built as needed). */
  static final String CONTAINER = "soakdb";
  /** G0's SONiC version, and so the container's, before the soak's first upgrade. */
  static final String FIRST_VERSION = "1.0";
  private static final String IMAGE = "offload/soakdb";
  private static final String SERVICE = "echo \"started $IMAGE\"\ntrap 'echo stopping; exit 0' TERM\nwhile :; do sleep 1 & wait $!; done\n";
  private final Path images;
  private final Path versionFile;
  private final int npuDpuApiPort;
  private OffloaderClient offloader;

  SoakFleet(int n, int npuDpuApiPort, Path dir) throws Exception {
    // a notice the NPU did not answer (it was killed) is sent again after 1 s
    com.typesafe.config.Config config = AppConfig.with(AppConfig.load(), "dpu-coordinator.agent.reboot-notice.retry-interval", "1s");
    system = Systems.create("soak-dpus", config);
    this.npuDpuApiPort = npuDpuApiPort;
    images = dir.resolve("images");
    versionFile = dir.resolve("G0-sonic_version.yml");
    dpuVersion(FIRST_VERSION);
    for (int i = 0; i < n; i++) {
      String protocol = i % 2 == 0 ? DpuEndpoint.GNOI : DpuEndpoint.REBOOT_SERVICE;
      String id = (protocol.equals(DpuEndpoint.GNOI) ? "G" : "R") + i;
      // every fourth, from the third, is slower than the soak's halt timeout (2 s): the NPU gives up on it and forces it
      long shutdownMs = i % 4 == 2 ? SLOW_SHUTDOWN_MS : 60 + (i * 97L) % 400;
      List<StepSpec> steps = new ArrayList<>(List.of(StepSpec.simulated("work", Duration.ofMillis(shutdownMs))));
      if (i % 4 == 3) {
        steps.add(StepSpec.command("failing-step", "echo 'soak: this step always fails'; exit 3", Duration.ofSeconds(5)));
      }
      AgentSettings base = AgentSettings.create(config).withId(id).withPort(0).withSteps(steps)
          .withRestartAfter(Optional.of(Duration.ofMillis(150))).withSimulatedRebootTime(Duration.ofMillis(300));
      AgentSettings settings = base.withNotice(base.notice().withNpuAddress("127.0.0.1:" + npuDpuApiPort));
      AgentServer.Running r = (i == 0 ? AgentServer.start(system, settings, offloaderConfig(config, id, dir)) : AgentServer.start(system, settings))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      if (i == 0) {
        offloader = OffloaderClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", r.offloader().apiPort(), system).withTls(false)
            .withDeadline(Duration.ofSeconds(10)), system);
      }
      agents.add(r);
      protocols.put(id, protocol);
      controls.put(id, DpuAgentControlClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", r.port(), system).withTls(false)
          .withDeadline(Duration.ofSeconds(10)), system));
    }
  }

  List<String> ids() {
    return List.copyOf(protocols.keySet());
  }

  /** The NPU's {@code --dpu} arguments for this fleet. */
  List<String> dpuArguments() {
    return agents.stream().map(a -> a.dpuId() + "=127.0.0.1:" + a.port() + "/" + protocols.get(a.dpuId())).toList();
  }

  /** Graceful shutdowns each agent has begun since it started (whichever protocol asked, or itself). */
  Map<String, Long> shutdownRuns() throws Exception {
    Map<String, Long> runs = new LinkedHashMap<>();
    for (AgentServer.Running r : agents) {
      AgentSnapshot s = AskPattern.<DpuAgent.Command, AgentSnapshot>ask(r.agent(), x -> new DpuAgent.GetState(-1, Duration.ZERO, x),
          Duration.ofSeconds(5), system.scheduler()).toCompletableFuture().get(10, TimeUnit.SECONDS);
      runs.put(r.dpuId(), s.shutdownRuns());
    }
    return runs;
  }

  /** The DPU announces a reboot of its own (`dpuctl dpu-reboot`); its notice id. */
  String requestReboot(String dpuId, String reason) throws Exception {
    RebootNoticeStatus s = controls.get(dpuId).requestReboot(RequestRebootRequest.newBuilder().setReason(reason).setDeadlineMs(60_000).build())
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
    if (!s.getAccepted()) {
      throw new IllegalStateException(dpuId + " refused the reboot request: " + s.getMessage());
    }
    return s.getNoticeId();
  }

  /** The DPU's own view of its latest notice (state DONE once it has rebooted and is back). */
  RebootNoticeStatus notice(String dpuId) throws Exception {
    return controls.get(dpuId).getRebootNotice(io.github.dpucoordinator.proto.agentctl.GetRebootNoticeRequest.getDefaultInstance())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** G0 offloads {@link #CONTAINER} to the NPU; its halts leave it running (the soak's DPUs come back by themselves). */
  private com.typesafe.config.Config offloaderConfig(com.typesafe.config.Config config, String id, Path dir) {
    String k = OffloaderSettings.KEY;
    com.typesafe.config.Config c = AppConfig.with(config, AgentServer.OFFLOADER_ENABLED, true);
    Object[] keys = {".dpu-id", id, ".npu-address", "127.0.0.1:" + npuDpuApiPort, ".data-dir", dir.resolve("offloader").toString(),
        ".api-port", 0, ".version-file", versionFile.toString(), ".image-dir", images.toString(), ".health.interval", "300ms",
        ".health.tcp-timeout", "300ms", ".stop-on-dpu-halt", false, ".upgrade.min-healthy", "1s", ".upgrade.deadline", "60s",
        ".history-max", 100_000}; // the soak counts upgrades in the history: none may roll off
    for (int i = 0; i < keys.length; i += 2) {
      c = AppConfig.with(c, k + keys[i], keys[i + 1]);
    }
    return com.typesafe.config.ConfigFactory.parseString(k + ".containers = [{name = " + CONTAINER + ", image = \"" + IMAGE + "\"}]")
        .withFallback(c);
  }

  /** G0 moves to SONiC {@code version}: its offloaded container is to follow (the image of that version is built first). */
  void dpuVersion(String version) throws Exception {
    Path file = images.resolve(IMAGE).resolve(version + ".tar");
    if (!Files.exists(file)) {
      Files.createDirectories(file.getParent());
      ImageTarballs.scriptImage(file, IMAGE, version, SERVICE);
    }
    Files.writeString(versionFile, "build_version: '" + version + "'\n");
  }

  /** The offloader's view of its container, "phase tag health: detail", or why it did not answer. */
  String offloaded() {
    try {
      ContainerState s = offloader.status(ContainerRef.newBuilder().setName(CONTAINER).build()).toCompletableFuture().get(15, TimeUnit.SECONDS);
      return s.getPhase() + " " + s.getTag() + " " + s.getHealth() + ": " + s.getDetail();
    } catch (Exception e) {
      return Systems.rootMessage(e);
    }
  }

  /**
   * How many times the offloader's history records {@code event} (upgrade-started, upgraded, ...) at or after
   * {@code sinceMillis}: counted by time, since the history it answers with keeps only its latest entries (history-max).
   */
  long offloadedEventsSince(String event, long sinceMillis) throws Exception {
    return offloader.history(ContainerRef.newBuilder().setName(CONTAINER).build()).toCompletableFuture().get(15, TimeUnit.SECONDS)
        .getEntriesList().stream().filter(e -> e.getEvent().equals(event) && e.getAtMs() >= sinceMillis).count();
  }

  /** What the NPU's Containerz lists for the container: "STATUS image:tag" per instance (a fresh client: the NPU restarts). */
  List<String> onNpu() throws Exception {
    ContainerzClient npu = ContainerzClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", npuDpuApiPort, system).withTls(false)
        .withDeadline(Duration.ofSeconds(10)), system);
    try {
      return npu.listContainer(ListContainerRequest.newBuilder().setAll(true).build()).runWith(Sink.seq(), system).toCompletableFuture()
          .get(15, TimeUnit.SECONDS).stream().filter(c -> c.getName().equals("G0-" + CONTAINER)).map(c -> c.getStatus() + " " + c.getImageName())
          .toList();
    } finally {
      npu.close();
    }
  }

  @Override
  public void close() {
    if (offloader != null) {
      offloader.close();
    }
    controls.values().forEach(DpuAgentControlClient::close);
    system.terminate();
  }
}
