package io.github.dpucoordinator.sim;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.npu.containerz.ContainerzServer;
import io.github.dpucoordinator.npu.containerz.ContainerzSettings;
import io.github.dpucoordinator.offloader.OffloaderSettings;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerResponse;
import io.github.dpucoordinator.proto.offloader.ContainerState;
import io.github.dpucoordinator.proto.offloader.HistoryEntry;
import io.github.dpucoordinator.proto.offloader.ContainerRef;
import io.github.dpucoordinator.proto.offloader.ListRequest;
import io.github.dpucoordinator.proto.offloader.OffloaderClient;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * `dpuctl simulate --offload`: an NPU serving Containerz (the process runtime, in a temporary directory), DPU agents
 * each running an offloader with two offloaded containers (database and gnmi), and, within one run: every container
 * started; DPU0's database killed for real (SIGKILL) and restarted; DPU0 upgraded to 2.0, so its database is upgraded
 * and its gnmi, whose 2.0 does not run, is rolled back on its own. What the simulation runs are small script images it
 * builds from this host's /bin/sh; nothing outside its temporary directory is touched.
 */
public final class OffloadSimulation {
  private OffloadSimulation() {}

  /** What happened, counted from the offloaders' own records. */
  public record Result(int dpus, int containers, int started, int restarted, int upgraded, int rolledBack, int healthy, long wallMillis,
      List<ContainerState> states, List<String> dpuOf) {
    public boolean asExpected() {
      return started == containers && restarted >= 1 && upgraded >= 1 && rolledBack >= 1 && healthy == containers;
    }
  }

  private static final String SERVICE = "echo \"started $IMAGE\"\ntrap 'echo stopping; exit 0' TERM\nwhile :; do sleep 1 & wait $!; done\n";

  public static Result run(int dpus, PrintStream out) throws Exception {
    long start = System.nanoTime();
    Path dir = Files.createTempDirectory("dpuctl-offload-sim-");
    Config base = AppConfig.load();
    ActorSystem<Void> npu = ActorSystem.create(Behaviors.empty(), "offload-sim-npu", base);
    ActorSystem<Void> dpuSystem = ActorSystem.create(Behaviors.empty(), "offload-sim-dpus", base);
    ContainerzServer.Opened containerz = null;
    try {
      Path images = images(dir.resolve("images"));
      Set<String> ids = new LinkedHashSet<>();
      for (int i = 0; i < dpus; i++) {
        ids.add("DPU" + i);
      }
      Config npuConfig = AppConfig.with(AppConfig.with(base, ContainerzSettings.KEY + ".start-check", "1s"), ContainerzSettings.KEY + ".runtime",
          "process");
      containerz = ContainerzServer.open(npu, ContainerzSettings.of(npuConfig, dir.resolve("npu")), ids);
      int npuPort = GrpcServers.bind(npu, "127.0.0.1", 0, List.of(containerz.service())).toCompletableFuture().get(30, TimeUnit.SECONDS)
          .localAddress().getPort();
      out.printf("NPU: gNOI Containerz (process runtime) on 127.0.0.1:%d; %d DPU(s), each offloading database and gnmi%n", npuPort, dpus);

      List<AgentServer.Running> agents = new ArrayList<>();
      List<OffloaderClient> clients = new ArrayList<>();
      for (String id : ids) {
        Path versionFile = dir.resolve(id + "-sonic_version.yml");
        Files.writeString(versionFile, "build_version: '1.0'\n");
        Config c = offloaderConfig(base, id, npuPort, dir.resolve(id + "-offloader"), versionFile, images);
        AgentSettings s = AgentSettings.create(c).withId(id).withPort(0).withSteps(List.of(StepSpec.simulated("simulated-shutdown",
            Duration.ofMillis(100))));
        AgentServer.Running agent = AgentServer.start(dpuSystem, s, c).toCompletableFuture().get(60, TimeUnit.SECONDS);
        agents.add(agent);
        clients.add(OffloaderClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", agent.offloader().apiPort(), dpuSystem)
            .withTls(false), dpuSystem));
      }
      int containers = 2 * dpus;
      await("every offloaded container started and healthy", Duration.ofSeconds(60 + 5L * dpus), out,
          () -> states(clients).stream().filter(st -> st.getHealth().equals("healthy")).count() == containers);
      out.printf("started: %d container(s) on the NPU, each healthy%n", containers);

      // a real crash: SIGKILL of DPU0's database, restarted by its offloader
      ContainerzClient npuClient = ContainerzClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", npuPort, npu).withTls(false), npu);
      long killed = crash(npuClient, npu, dir.resolve("npu"), "database", "DPU0");
      out.printf("crash: DPU0's database killed (SIGKILL, %d process(es))%n", killed);
      await("DPU0's database restarted", Duration.ofSeconds(60), out, () -> events(clients.get(0), "database").contains("restarted")
          && state(clients.get(0), "database").getHealth().equals("healthy"));
      out.println("restarted: DPU0's database, healthy again");

      // DPU0 is upgraded: database follows to 2.0; gnmi 2.0 does not run and is rolled back
      Files.writeString(dir.resolve("DPU0-sonic_version.yml"), "build_version: '2.0'\n");
      out.println("upgrade: DPU0 now runs SONiC 2.0");
      await("DPU0's containers synced to 2.0", Duration.ofSeconds(90), out, () -> {
        List<String> db = events(clients.get(0), "database");
        List<String> gnmi = events(clients.get(0), "gnmi");
        return db.contains("upgraded") && gnmi.contains("rolled-back") && state(clients.get(0), "gnmi").getHealth().equals("healthy");
      });
      out.println("upgraded: DPU0's database 1.0 -> 2.0; rolled back: DPU0's gnmi 2.0 did not run, 1.0 runs again (2.0 not retried)");

      List<ContainerState> all = new ArrayList<>();
      List<String> dpuOf = new ArrayList<>();
      int started = 0;
      int restarted = 0;
      int upgraded = 0;
      int rolledBack = 0;
      for (int i = 0; i < clients.size(); i++) {
        for (ContainerState st : states(List.of(clients.get(i)))) {
          all.add(st);
          dpuOf.add("DPU" + i);
        }
        for (HistoryEntry e : clients.get(i).history(ContainerRef.getDefaultInstance()).toCompletableFuture().get(30, TimeUnit.SECONDS)
            .getEntriesList()) {
          switch (e.getEvent()) {
            case "started" -> started++;
            case "restarted" -> restarted++;
            case "upgraded" -> upgraded++;
            case "rolled-back" -> rolledBack++;
            default -> { }
          }
        }
      }
      int healthy = (int) all.stream().filter(st -> st.getHealth().equals("healthy")).count();
      for (OffloaderClient c : clients) {
        for (ContainerState st : states(List.of(c))) {
          c.stop(ContainerRef.newBuilder().setName(st.getName()).build()).toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
        c.close();
      }
      npuClient.close();
      return new Result(dpus, containers, started, restarted, upgraded, rolledBack, healthy, (System.nanoTime() - start) / 1_000_000, all, dpuOf);
    } finally {
      dpuSystem.terminate();
      dpuSystem.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      if (containerz != null) {
        containerz.runtime().close();
      }
      npu.terminate();
      npu.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      Simulation.deleteTree(dir);
    }
  }

  /** database 1.0 and 2.0, gnmi 1.0, and a gnmi 2.0 that exits at once, at {@code <dir>/<image>/<tag>.tar}. */
  private static Path images(Path dir) throws Exception {
    for (String[] image : new String[][] {{"offload/database", "1.0", SERVICE}, {"offload/database", "2.0", SERVICE},
        {"offload/gnmi", "1.0", SERVICE}, {"offload/gnmi", "2.0", "echo 'gnmi 2.0: bad configuration'; exit 2\n"}}) {
      Path file = dir.resolve(image[0]).resolve(image[1] + ".tar");
      Files.createDirectories(file.getParent());
      ImageTarballs.scriptImage(file, image[0], image[1], image[2]);
    }
    return dir;
  }

  private static Config offloaderConfig(Config base, String id, int npuPort, Path data, Path versionFile, Path images) {
    String k = OffloaderSettings.KEY;
    Config c = AppConfig.with(base, AgentServer.OFFLOADER_ENABLED, true);
    c = AppConfig.with(c, "dpu-coordinator.agent.id", id);
    c = AppConfig.with(c, k + ".dpu-id", id);
    c = AppConfig.with(c, k + ".npu-address", "127.0.0.1:" + npuPort);
    c = AppConfig.with(c, k + ".data-dir", data.toString());
    c = AppConfig.with(c, k + ".api-port", 0);
    c = AppConfig.with(c, k + ".version-file", versionFile.toString());
    c = AppConfig.with(c, k + ".image-dir", images.toString());
    c = AppConfig.with(c, k + ".health.interval", "300ms");
    c = AppConfig.with(c, k + ".health.tcp-timeout", "300ms");
    c = AppConfig.with(c, k + ".restart.initial-delay", "200ms");
    c = AppConfig.with(c, k + ".upgrade.min-healthy", "2s");
    c = AppConfig.with(c, k + ".upgrade.deadline", "15s");
    c = AppConfig.with(c, k + ".upgrade.order", List.of("database", "gnmi"));
    return ConfigFactory.parseString(k + ".containers = [{name = database, image = \"offload/database\"},"
        + " {name = gnmi, image = \"offload/gnmi\"}]").withFallback(c).resolve();
  }

  private static List<ContainerState> states(List<OffloaderClient> clients) {
    List<ContainerState> all = new ArrayList<>();
    for (OffloaderClient c : clients) {
      try {
        all.addAll(c.list(ListRequest.getDefaultInstance()).toCompletableFuture().get(10, TimeUnit.SECONDS).getContainersList());
      } catch (Exception notYet) {
        // asked again on the next round
      }
    }
    return all;
  }

  private static ContainerState state(OffloaderClient c, String name) {
    return states(List.of(c)).stream().filter(s -> s.getName().equals(name)).findFirst().orElse(ContainerState.getDefaultInstance());
  }

  private static List<String> events(OffloaderClient c, String name) {
    try {
      return c.history(ContainerRef.newBuilder().setName(name).build()).toCompletableFuture().get(10, TimeUnit.SECONDS).getEntriesList()
          .stream().map(HistoryEntry::getEvent).toList();
    } catch (Exception notYet) {
      return List.of();
    }
  }

  /** SIGKILLs the processes of {@code dpu}'s container {@code name} (their programs lie in its unpacked root). */
  private static long crash(ContainerzClient client, ActorSystem<?> system, Path npuDir, String name, String dpu) throws Exception {
    List<ListContainerResponse> all = client.listContainer(ListContainerRequest.newBuilder().setAll(true).addFilter(ListContainerRequest.Filter
        .newBuilder().setKey("label").addValue("dpu=" + dpu)).build()).runWith(Sink.seq(), system).toCompletableFuture().get(30, TimeUnit.SECONDS);
    String id = all.stream().filter(c -> c.getName().equals(dpu + "-" + name)).findFirst().orElseThrow().getId();
    String prefix = npuDir.resolve("containerz").resolve("containers").resolve(id).toAbsolutePath().toString();
    List<ProcessHandle> processes = ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.startsWith(prefix)).orElse(false))
        .toList();
    processes.forEach(ProcessHandle::destroyForcibly);
    return processes.size();
  }

  /** Polls {@code done} every 200 ms, up to {@code max}; fails naming {@code what}. */
  private static void await(String what, Duration max, PrintStream out, BooleanSupplier done) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(what + ": not within " + max.toSeconds() + " s");
      }
      Thread.sleep(200);
    }
  }
}
