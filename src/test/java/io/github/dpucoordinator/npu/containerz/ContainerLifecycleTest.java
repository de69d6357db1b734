package io.github.dpucoordinator.npu.containerz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.LogRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.LogResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveImageRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StopContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateContainerRequest;
import io.github.dpucoordinator.sim.ImageTarballs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Containers of the process runtime through the gRPC API, with real processes: the conformance suite's lifecycle
 * (deploy, start, its log, listed RUNNING, updated to another tag, a failed update rolled back, stopped with SIGTERM,
 * removed), restart policies with their backoff, and every refusal with its status code.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ContainerLifecycleTest {
  /** Runs until SIGTERM, which it answers by saying so and leaving. */
  static final String SERVICE = "echo \"started $IMAGE greeting=$GREETING\"\n"
      + "echo \"pid=$$\"; if [ -e /etc/hostname ]; then echo 'sees the host'; else echo confined; fi\n"
      + "trap 'echo \"stopping on TERM\"; exit 0' TERM\n"
      + "while :; do sleep 0.1 & wait $!; done\n";

  private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

  private final ActorTestKit kit = ActorTestKit.create("containers", AppConfig.load());
  @TempDir
  static Path dir;
  private ContainerzClient client;

  @BeforeAll
  void serve() throws Exception {
    var config = kit.system().settings().config();
    config = AppConfig.with(config, ContainerzSettings.KEY + ".restart.initial-delay", "50ms");
    config = AppConfig.with(config, ContainerzSettings.KEY + ".stop-grace", "5s");
    config = AppConfig.with(config, ContainerzSettings.KEY + ".start-check", "1s");
    ContainerzSettings settings = ContainerzSettings.of(config, dir);
    var binding = GrpcServers.bind(kit.system(), "127.0.0.1", 0, List.of(ContainerzServer.open(kit.system(), settings, Set.of("DPU0", "DPU1")).service()))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    client = ContainerzClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", binding.localAddress().getPort(), kit.system())
        .withTls(false), kit.system());
    deploy("offload/echo", "1", SERVICE);
    deploy("offload/echo", "2", SERVICE.replace("started", "started v2"));
    deploy("offload/echo", "broken", "echo broken; exit 3\n");
  }

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  void deploy(String name, String tag, String script) throws Exception {
    Path tarball = ImageTarballs.scriptImage(dir.resolve(name.replace('/', '_') + "-" + tag + ".tar"), name, tag, script);
    ContainerzCalls.deploy(client, kit, name, tag, tarball);
  }

  private <T> T get(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static Status refusal(Throwable t) {
    Throwable c = t instanceof ExecutionException ? t.getCause() : t;
    assertTrue(c instanceof StatusRuntimeException, String.valueOf(c));
    return ((StatusRuntimeException) c).getStatus();
  }

  private Status refused(CompletionStage<?> call) {
    return refusal(assertThrows(ExecutionException.class, () -> get(call)));
  }

  private List<ListContainerResponse> list(boolean all) throws Exception {
    return get(client.listContainer(ListContainerRequest.newBuilder().setAll(all).build()).runWith(Sink.seq(), kit.system()));
  }

  private ListContainerResponse listed(String name) throws Exception {
    return list(true).stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name + " not listed"));
  }

  private List<String> log(String name) throws Exception {
    return get(client.log(LogRequest.newBuilder().setInstanceName(name).build()).runWith(Sink.seq(), kit.system())).stream()
        .map(LogResponse::getMsg).toList();
  }

  private void awaitLog(String name, String line) {
    TestProbe<Object> probe = kit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
      assertTrue(log(name).contains(line), () -> name + "'s log has no '" + line + "': " + uncheckedLog(name));
      return null;
    });
  }

  private String uncheckedLog(String name) {
    try {
      return String.join("\n", log(name));
    } catch (Exception e) {
      return e.toString();
    }
  }

  private void awaitStatus(String name, ListContainerResponse.Status status) {
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
      assertEquals(status, listed(name).getStatus(), () -> uncheckedLog(name));
      return null;
    });
  }

  private static StartContainerRequest.Builder echo(String instance, String tag) {
    return StartContainerRequest.newBuilder().setImageName("offload/echo").setTag(tag).setInstanceName(instance)
        .putEnvironment("GREETING", "hi").putLabels("dpu", "DPU0");
  }

  @Test
  void theConformanceLifecycleRunsARealProcess() throws Exception {
    assertEquals("echo", get(client.startContainer(echo("echo", "1").build())).getStartOk().getInstanceName());
    awaitLog("echo", "started offload/echo:1 greeting=hi");
    ListContainerResponse running = listed("echo");
    assertEquals(ListContainerResponse.Status.RUNNING, running.getStatus());
    assertEquals("offload/echo:1", running.getImageName());
    assertEquals("DPU0", running.getLabelsMap().get("dpu"));
    assertEquals(64, running.getId().length());
    if (ROOT) { // as root: in the image's root, first process of its own PID namespace, as the default user
      assertTrue(log("echo").containsAll(List.of("pid=1", "confined")), uncheckedLog("echo"));
      String prefix = dir.resolve("containerz").toAbsolutePath().toString();
      assertEquals(List.of("nobody"), ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.startsWith(prefix)
          && c.endsWith("/bin/sh")).orElse(false)).map(p -> p.info().user().orElse("?")).distinct().toList());
    }
    assertEquals(List.of("echo"), get(client.listContainer(ListContainerRequest.newBuilder().addFilter(ListContainerRequest.Filter.newBuilder()
        .setKey("label").addValue("dpu=DPU0")).build()).runWith(Sink.seq(), kit.system())).stream().map(ListContainerResponse::getName).toList());

    // update to another tag: afterwards name:tag is the new one, running
    var updated = get(client.updateContainer(UpdateContainerRequest.newBuilder().setInstanceName("echo").setImageName("offload/echo")
        .setImageTag("2").setParams(echo("echo", "2")).build()));
    assertEquals("echo", updated.getUpdateOk().getInstanceName());
    awaitLog("echo", "started v2 offload/echo:2 greeting=hi");
    assertEquals("offload/echo:2", listed("echo").getImageName());
    assertEquals(ListContainerResponse.Status.RUNNING, listed("echo").getStatus());

    // an update whose new version does not keep running is rolled back, and the answer says both
    Status failed = refused(client.updateContainer(UpdateContainerRequest.newBuilder().setInstanceName("echo").setImageName("offload/echo")
        .setImageTag("broken").setParams(echo("echo", "broken")).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, failed.getCode());
    assertTrue(failed.getDescription().contains("offload/echo:broken") && failed.getDescription().contains("offload/echo:2 was restored"),
        failed.getDescription());
    awaitStatus("echo", ListContainerResponse.Status.RUNNING);
    assertEquals("offload/echo:2", listed("echo").getImageName());
    // updates to a missing tag, image or instance
    assertEquals(Status.Code.NOT_FOUND, refused(client.updateContainer(UpdateContainerRequest.newBuilder().setInstanceName("echo")
        .setImageName("offload/echo").setImageTag("9").build())).getCode());
    assertEquals(Status.Code.NOT_FOUND, refused(client.updateContainer(UpdateContainerRequest.newBuilder().setInstanceName("echo")
        .setImageName("offload/none").setImageTag("1").build())).getCode());
    assertEquals(Status.Code.NOT_FOUND, refused(client.updateContainer(UpdateContainerRequest.newBuilder().setInstanceName("nobody")
        .setImageName("offload/echo").setImageTag("1").build())).getCode());

    // an image in use is not removed; a running container is not removed without force
    assertEquals(Status.Code.FAILED_PRECONDITION, refused(client.removeImage(RemoveImageRequest.newBuilder().setName("offload/echo")
        .setTag("2").build())).getCode());
    assertEquals(Status.Code.FAILED_PRECONDITION, refused(client.removeContainer(RemoveContainerRequest.newBuilder().setName("echo")
        .build())).getCode());

    // stop: SIGTERM, which the container answers
    get(client.stopContainer(StopContainerRequest.newBuilder().setInstanceName("echo").build()));
    assertEquals(ListContainerResponse.Status.STOPPED, listed("echo").getStatus());
    assertTrue(log("echo").contains("stopping on TERM"), uncheckedLog("echo"));
    assertTrue(list(false).stream().noneMatch(c -> c.getName().equals("echo")), "not listed without all");
    assertEquals(Status.Code.NOT_FOUND, refused(client.stopContainer(StopContainerRequest.newBuilder().setInstanceName("nobody").build()))
        .getCode());

    // a request naming only the stopped instance starts it again
    get(client.startContainer(StartContainerRequest.newBuilder().setInstanceName("echo").build()));
    awaitStatus("echo", ListContainerResponse.Status.RUNNING);
    // an asynchronous update answers at once, and the container runs the new tag after
    var async = get(client.updateContainer(UpdateContainerRequest.newBuilder().setInstanceName("echo").setImageName("offload/echo")
        .setImageTag("1").setParams(echo("echo", "1")).setAsync(true).build()));
    assertTrue(async.getUpdateOk().getIsAsync());
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
      assertEquals("offload/echo:1", listed("echo").getImageName());
      assertEquals(ListContainerResponse.Status.RUNNING, listed("echo").getStatus());
      try (var versions = Files.list(dir.resolve("containerz").resolve("containers"))) {
        assertEquals(1, versions.count(), "the update has ended: the previous version is gone");
      }
      return null;
    });
    // a followed log goes on with what the container writes, and ends when it stops
    CompletionStage<List<LogResponse>> followed = client.log(LogRequest.newBuilder().setInstanceName("echo").setFollow(true).build())
        .runWith(Sink.seq(), kit.system());
    awaitLog("echo", "started offload/echo:1 greeting=hi");
    get(client.stopContainer(StopContainerRequest.newBuilder().setInstanceName("echo").build()));
    List<String> seen = get(followed).stream().map(LogResponse::getMsg).toList();
    assertTrue(seen.contains("stopping on TERM"), () -> "the followed log saw the stop: " + seen);
    assertTrue(seen.stream().noneMatch(l -> l.contains("/dev/null")), () -> "the container has a /dev/null for its background jobs: " + seen);
    get(client.removeContainer(RemoveContainerRequest.newBuilder().setName("echo").setForce(true).build()));
    assertTrue(list(true).stream().noneMatch(c -> c.getName().equals("echo")));
    try (var left = Files.list(dir.resolve("containerz").resolve("containers"))) {
      assertEquals(List.of(), left.toList());
    }
  }

  @Test
  void onFailureRestartsUpToItsAttemptsWithBackoffThenStaysStopped() throws Exception {
    get(client.startContainer(echo("flaky", "broken").setRestart(StartContainerRequest.Restart.newBuilder()
        .setPolicy(StartContainerRequest.Restart.Policy.ON_FAILURE).setAttempts(2)).build()));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
      assertEquals(3, log("flaky").stream().filter(l -> l.equals("broken")).count(), () -> uncheckedLog("flaky"));
      assertEquals(ListContainerResponse.Status.STOPPED, listed("flaky").getStatus());
      return null;
    });
    List<String> lines = log("flaky");
    assertTrue(lines.contains("[containerz] exited with 3; starting again in 50 ms"), String.join("\n", lines));
    assertTrue(lines.contains("[containerz] exited with 3; starting again in 100 ms"), String.join("\n", lines));
    get(client.removeContainer(RemoveContainerRequest.newBuilder().setName("flaky").build()));
  }

  @Test
  void requestsThatAreNotAllowedOrCannotWorkAreRefusedNamingWhy() throws Exception {
    assertEquals(Status.Code.NOT_FOUND, refused(client.startContainer(echo("x", "9").build())).getCode());
    Status caps = refused(client.startContainer(echo("x", "1").setCap(StartContainerRequest.Capabilities.newBuilder().addAdd("SYS_ADMIN"))
        .build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, caps.getCode());
    assertTrue(caps.getDescription().contains("dpu-coordinator.npu.containerz.allow.capabilities"), caps.getDescription());
    Status root = refused(client.startContainer(echo("x", "1").setRunAs(StartContainerRequest.RunAs.newBuilder().setUser("root")).build()));
    assertTrue(root.getDescription().contains("dpu-coordinator.npu.containerz.allow.run-as-root"), root.getDescription());
    assertEquals(Status.Code.FAILED_PRECONDITION, refused(client.startContainer(echo("x", "1").addDevices(
        io.github.dpucoordinator.proto.gnoi.containerz.Device.newBuilder().setSrcPath("/dev/mem")).build())).getCode());
    assertEquals(Status.Code.FAILED_PRECONDITION, refused(client.startContainer(echo("x", "1").addVolumes(
        io.github.dpucoordinator.proto.gnoi.containerz.Volume.newBuilder().setName("v").setMountPoint("/etc")).build())).getCode());
    assertEquals(Status.Code.FAILED_PRECONDITION, refused(client.startContainer(echo("x", "1").setRestart(StartContainerRequest.Restart
        .newBuilder().setPolicy(StartContainerRequest.Restart.Policy.ALWAYS).setAttempts(3)).build())).getCode());
    assertEquals(Status.Code.INVALID_ARGUMENT, refused(client.startContainer(echo("x", "1").putLabels("dpu", "DPU7").build())).getCode());
    Status limits = refused(client.startContainer(echo("x", "1").setLimits(StartContainerRequest.Limits.newBuilder().setHardMemBytes(1 << 26))
        .build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, limits.getCode());
    assertTrue(limits.getDescription().contains("runtime = docker"), limits.getDescription());
    assertEquals(Status.Code.INVALID_ARGUMENT, refused(client.startContainer(echo("../x", "1").build())).getCode());
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
      assertEquals(Status.Code.UNAVAILABLE, refused(client.startContainer(echo("x", "1").addPorts(StartContainerRequest.Port.newBuilder()
          .setInternal(taken.getLocalPort())).build())).getCode());
    }
    get(client.startContainer(echo("twice", "1").build()));
    assertEquals(Status.Code.ALREADY_EXISTS, refused(client.startContainer(echo("twice", "1").build())).getCode());
    get(client.removeContainer(RemoveContainerRequest.newBuilder().setName("twice").setForce(true).build()));
    assertTrue(list(true).stream().noneMatch(c -> c.getName().equals("x")));
  }

  @Test
  void anImagesUserByNameIsLookedUpInTheImagesOwnPasswd() throws Exception {
    String script = "exec sleep 3001\n";
    for (String user : List.of("app", "ghost")) {
      ContainerzCalls.deploy(client, kit, "offload/user", user, ImageTarballs.scriptImage(dir.resolve("user-" + user + ".tar"), "offload/user",
          user, script, java.util.Map.of("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:4242:4343::/app:/bin/sh\n"), user));
    }
    StartContainerRequest.Builder app = StartContainerRequest.newBuilder().setImageName("offload/user").setTag("app").setInstanceName("as-app")
        .putLabels("dpu", "DPU0");
    get(client.startContainer(app.build()));
    if (ROOT) { // the image's USER app is its passwd's 4242 (group 4343), not the host's, and not the default user
      kit.createTestProbe().awaitAssert(Duration.ofSeconds(20), Duration.ofMillis(100), () -> {
        assertEquals(List.of("uid 4242 gid 4343"), ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.endsWith("/bin/sleep")).orElse(false)
            && List.of(p.info().arguments().orElse(new String[0])).contains("3001")).map(ContainerLifecycleTest::ids).toList());
        return null;
      });
      Status ghost = refused(client.startContainer(app.setTag("ghost").setInstanceName("as-ghost").build()));
      assertEquals(Status.Code.FAILED_PRECONDITION, ghost.getCode());
      assertTrue(ghost.getDescription().contains("runs as 'ghost', which its /etc/passwd does not define"), ghost.getDescription());
    } else { // not root: no user can be taken on; the image runs as the service's own user
      awaitStatus("as-app", ListContainerResponse.Status.RUNNING);
    }
    get(client.removeContainer(RemoveContainerRequest.newBuilder().setName("as-app").setForce(true).build()));
    assertTrue(list(true).stream().noneMatch(c -> c.getName().equals("as-ghost")), "a refused start leaves no container");
  }

  /** A process's real uid and gid, from /proc (no name: they need not be in the host's passwd). */
  private static String ids(ProcessHandle p) {
    try {
      List<String> status = Files.readAllLines(Path.of("/proc", String.valueOf(p.pid()), "status"));
      String uid = status.stream().filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: ?").split("\\s+")[1];
      String gid = status.stream().filter(l -> l.startsWith("Gid:")).findFirst().orElse("Gid: ?").split("\\s+")[1];
      return "uid " + uid + " gid " + gid;
    } catch (java.io.IOException gone) {
      return "gone";
    }
  }
}
