package io.github.dpucoordinator.npu.containerz.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.npu.containerz.ContainerzCalls;
import io.github.dpucoordinator.npu.containerz.ContainerzServer;
import io.github.dpucoordinator.npu.containerz.ContainerzSettings;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.LogRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.LogResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StopContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateContainerRequest;
import io.github.dpucoordinator.sim.ImageTarballs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The docker runtime against a real Docker daemon of the test's own ({@link PrivateDocker}), through the gRPC API: the
 * same Deploy bytes as the process runtime's, then the conformance lifecycle (start, log, RUNNING as name:tag, update,
 * a failed update rolled back, stop with SIGTERM, remove); a container the service did not create is neither listed
 * nor removable; a daemon that goes away is UNAVAILABLE naming its address, and once it is back the service answers
 * again and an ALWAYS container runs again.
 * Runs with {@code mvn verify -Pdocker}.
 */
@Tag("needs-docker")
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DockerRuntimeTest {
  static final String SERVICE = "echo \"started $IMAGE greeting=$GREETING\"\ntrap 'echo \"stopping on TERM\"; exit 0' TERM\n"
      + "while :; do sleep 0.1 & wait $!; done\n";

  private final ActorTestKit kit = ActorTestKit.create("docker", AppConfig.load());
  @TempDir
  static Path dir;
  private PrivateDocker docker;
  private ContainerzClient client;

  @BeforeAll
  void serve() throws Exception {
    docker = PrivateDocker.start(Path.of("/tmp", "dpuctl-docker-" + ProcessHandle.current().pid()));
    var config = kit.system().settings().config();
    config = AppConfig.with(config, ContainerzSettings.KEY + ".runtime", "docker");
    config = AppConfig.with(config, ContainerzSettings.KEY + ".docker-host", docker.host);
    config = AppConfig.with(config, ContainerzSettings.KEY + ".docker-network", "none");
    config = AppConfig.with(config, ContainerzSettings.KEY + ".stop-grace", "5s");
    config = AppConfig.with(config, ContainerzSettings.KEY + ".start-check", "1s");
    config = config.withValue(ContainerzSettings.KEY + ".allow.capabilities", com.typesafe.config.ConfigValueFactory.fromIterable(List.of("NET_ADMIN")));
    var binding = GrpcServers.bind(kit.system(), "127.0.0.1", 0, List.of(ContainerzServer.open(kit.system(),
        ContainerzSettings.of(config, dir), Set.of("DPU0")).service())).toCompletableFuture().get(10, TimeUnit.SECONDS);
    client = ContainerzClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", binding.localAddress().getPort(), kit.system())
        .withTls(false), kit.system());
    for (String tag : List.of("1", "2")) {
      ContainerzCalls.deploy(client, kit, "offload/echo", tag, ImageTarballs.scriptImage(dir.resolve("echo-" + tag + ".tar"), "offload/echo",
          tag, tag.equals("1") ? SERVICE : SERVICE.replace("started", "started v2")));
    }
    ContainerzCalls.deploy(client, kit, "offload/echo", "broken", ImageTarballs.scriptImage(dir.resolve("broken.tar"), "offload/echo",
        "broken", "echo broken; exit 3\n"));
  }

  @AfterAll
  void shutdown() throws Exception {
    kit.shutdownTestKit();
    if (docker != null) {
      docker.close();
    }
  }

  private <T> T get(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  private Status refused(CompletionStage<?> call) {
    Throwable c = assertThrows(ExecutionException.class, () -> get(call)).getCause();
    assertTrue(c instanceof StatusRuntimeException, String.valueOf(c));
    return ((StatusRuntimeException) c).getStatus();
  }

  private ListContainerResponse listed(String name) throws Exception {
    return get(client.listContainer(ListContainerRequest.newBuilder().setAll(true).build()).runWith(Sink.seq(), kit.system())).stream()
        .filter(c -> c.getName().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name + " not listed"));
  }

  private String log(String name) throws Exception {
    return String.join("\n", get(client.log(LogRequest.newBuilder().setInstanceName(name).build()).runWith(Sink.seq(), kit.system())).stream()
        .map(LogResponse::getMsg).toList());
  }

  private void awaitLog(String name, String line) {
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
      assertTrue(log(name).contains(line), () -> name + ": " + line);
      return null;
    });
  }

  private static StartContainerRequest.Builder echo(String tag) {
    return StartContainerRequest.newBuilder().setImageName("offload/echo").setTag(tag).setInstanceName("echo").putEnvironment("GREETING", "hi")
        .putLabels("dpu", "DPU0");
  }

  @Test
  @org.junit.jupiter.api.Order(1)
  void theConformanceLifecycleRunsInDocker() throws Exception {
    assertEquals("echo", get(client.startContainer(echo("1").build())).getStartOk().getInstanceName());
    awaitLog("echo", "started offload/echo:1 greeting=hi");
    assertEquals(ListContainerResponse.Status.RUNNING, listed("echo").getStatus());
    assertEquals("offload/echo:1", listed("echo").getImageName());
    assertEquals("DPU0", listed("echo").getLabelsMap().get("dpu"));

    get(client.updateContainer(UpdateContainerRequest.newBuilder().setInstanceName("echo").setImageName("offload/echo").setImageTag("2")
        .setParams(echo("2")).build()));
    awaitLog("echo", "started v2 offload/echo:2 greeting=hi");
    assertEquals("offload/echo:2", listed("echo").getImageName());
    Status failed = refused(client.updateContainer(UpdateContainerRequest.newBuilder().setInstanceName("echo").setImageName("offload/echo")
        .setImageTag("broken").setParams(echo("broken")).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, failed.getCode());
    assertTrue(failed.getDescription().contains("was restored"), failed.getDescription());
    assertEquals("offload/echo:2", listed("echo").getImageName());
    assertEquals(ListContainerResponse.Status.RUNNING, listed("echo").getStatus());

    CompletionStage<List<LogResponse>> followed = client.log(LogRequest.newBuilder().setInstanceName("echo").setFollow(true).build())
        .runWith(Sink.seq(), kit.system());
    get(client.stopContainer(StopContainerRequest.newBuilder().setInstanceName("echo").build()));
    assertTrue(get(followed).stream().map(LogResponse::getMsg).toList().contains("stopping on TERM"), "the followed log ends with the stop");
    assertEquals(ListContainerResponse.Status.STOPPED, listed("echo").getStatus());
    assertTrue(log("echo").contains("stopping on TERM"), log("echo"));
    get(client.removeContainer(RemoveContainerRequest.newBuilder().setName("echo").build()));
    assertEquals(Status.Code.NOT_FOUND, refused(client.stopContainer(StopContainerRequest.newBuilder().setInstanceName("echo").build())).getCode());
  }

  @Test
  @org.junit.jupiter.api.Order(2)
  void allowedCapabilitiesAndLimitsReachDocker() throws Exception {
    get(client.startContainer(echo("1").setInstanceName("capped").setCap(StartContainerRequest.Capabilities.newBuilder().addAdd("NET_ADMIN"))
        .setLimits(StartContainerRequest.Limits.newBuilder().setHardMemBytes(64L << 20).setMaxCpu(0.5)).build()));
    var config = com.github.dockerjava.core.DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(docker.host).build();
    try (var own = com.github.dockerjava.core.DockerClientImpl.getInstance(config, new com.github.dockerjava.httpclient5.ApacheDockerHttpClient
        .Builder().dockerHost(config.getDockerHost()).build())) {
      var host = own.inspectContainerCmd("capped").exec().getHostConfig();
      assertEquals(List.of(com.github.dockerjava.api.model.Capability.NET_ADMIN), List.of(host.getCapAdd()));
      assertEquals(64L << 20, host.getMemory());
      assertEquals(500_000_000L, host.getNanoCPUs());
      assertEquals("65534:65534", own.inspectContainerCmd("capped").exec().getConfig().getUser());
    }
    get(client.removeContainer(RemoveContainerRequest.newBuilder().setName("capped").setForce(true).build()));
  }

  @Test
  @org.junit.jupiter.api.Order(3)
  void aContainerItDidNotCreateIsNotItsAndADaemonThatGoesIsUnavailable() throws Exception {
    var config = com.github.dockerjava.core.DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(docker.host).build();
    try (var own = com.github.dockerjava.core.DockerClientImpl.getInstance(config, new com.github.dockerjava.httpclient5.ApacheDockerHttpClient
        .Builder().dockerHost(config.getDockerHost()).build())) {
      own.createContainerCmd("offload/echo:1").withName("not-ours").exec();
      assertTrue(get(client.listContainer(ListContainerRequest.newBuilder().setAll(true).build()).runWith(Sink.seq(), kit.system())).stream()
          .noneMatch(c -> c.getName().equals("not-ours")));
      assertEquals(Status.Code.NOT_FOUND, refused(client.removeContainer(RemoveContainerRequest.newBuilder().setName("not-ours").setForce(true)
          .build())).getCode());
      assertEquals(1, own.listContainersCmd().withShowAll(true).withNameFilter(List.of("not-ours")).exec().size(), "left alone");
    }
    get(client.startContainer(echo("1").setInstanceName("lasting").setRestart(StartContainerRequest.Restart.newBuilder()
        .setPolicy(StartContainerRequest.Restart.Policy.ALWAYS)).build()));
    docker.stop();
    Status down = refused(client.listContainer(ListContainerRequest.newBuilder().setAll(true).build()).runWith(Sink.seq(), kit.system()));
    assertEquals(Status.Code.UNAVAILABLE, down.getCode());
    assertTrue(down.getDescription().contains(docker.host), down.getDescription());
    // the daemon comes back: the service answers again, and Docker's restart policy has the container running
    docker = PrivateDocker.start(docker.dir);
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
      assertEquals(ListContainerResponse.Status.RUNNING, listed("lasting").getStatus());
      return null;
    });
  }
}
