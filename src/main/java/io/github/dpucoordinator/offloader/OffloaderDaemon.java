package io.github.dpucoordinator.offloader;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.DataDir;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.common.JournalLock;
import io.github.dpucoordinator.common.JournalSchema;
import io.github.dpucoordinator.proto.offloader.OffloaderHandlerFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;

/**
 * The offloader as a running service: its own actor system on its own journal (an H2 file under
 * {@code offloader.data-dir}, locked against a second daemon), the offloader actor, and the local API on loopback. At
 * start it runs the initialization sequence; {@link #close} stops it (what it was doing is journaled).
 */
public final class OffloaderDaemon implements AutoCloseable {
  private final ActorSystem<Void> system;
  private final OffloaderSettings settings;
  private final ActorRef<Offloader.Command> offloader;
  private final int apiPort;

  private OffloaderDaemon(ActorSystem<Void> system, OffloaderSettings settings, ActorRef<Offloader.Command> offloader, int apiPort) {
    this.system = system;
    this.settings = settings;
    this.offloader = offloader;
    this.apiPort = apiPort;
  }

  /** Starts it on {@code config} (the whole configuration); the initialization sequence runs in the background. */
  public static OffloaderDaemon start(Config config) throws Exception {
    OffloaderSettings settings = OffloaderSettings.of(config);
    DataDir.prepare(settings.dataDir());
    Config own = AppConfig.withDataDir(config, settings.dataDir());
    JournalLock.check(own);
    JournalSchema.prepare(own);
    CompletableFuture<Started> started = new CompletableFuture<>();
    ActorSystem<Void> system = ActorSystem.create(guardian(settings, started), "offloader", own);
    try {
      Started s = started.get(60, java.util.concurrent.TimeUnit.SECONDS);
      return new OffloaderDaemon(system, settings, s.offloader(), s.binding().localAddress().getPort());
    } catch (java.util.concurrent.ExecutionException e) {
      system.terminate();
      throw e.getCause() instanceof Exception x ? x : e;
    } catch (Exception e) {
      system.terminate();
      throw e;
    }
  }

  private record Started(ActorRef<Offloader.Command> offloader, ServerBinding binding) {}

  private static Behavior<Void> guardian(OffloaderSettings settings, CompletableFuture<Started> started) {
    return Behaviors.setup(ctx -> {
      ActorSystem<Void> system = ctx.getSystem();
      NpuContainerz npu = new NpuContainerz(system, settings);
      ActorRef<Offloader.Command> offloader = ctx.spawn(Offloader.create(settings, npu, Clock.systemUTC()), "offloader");
      OffloaderApi api = new OffloaderApi(system, offloader, settings, npu);
      GrpcServers.bind(system, settings.apiHost(), settings.apiPort(), List.of(new GrpcServers.Service(
          io.github.dpucoordinator.proto.offloader.Offloader.description,
          OffloaderHandlerFactory.partial(api, io.github.dpucoordinator.proto.offloader.Offloader.name, org.apache.pekko.stream.SystemMaterializer.get(system).materializer(), io.github.dpucoordinator.common.GrpcErrors.handler(), system))))
          .whenComplete((binding, failure) -> {
            if (failure != null) {
              started.completeExceptionally(new IllegalStateException("the offloader's API on " + settings.apiHost() + ":" + settings.apiPort()
                  + " (dpu-coordinator.offloader.api-port): " + failure.getMessage(), failure));
            } else {
              binding.addToCoordinatedShutdown(Duration.ofSeconds(2), system);
              started.complete(new Started(offloader, binding));
              offloader.tell(new Offloader.Init(null));
            }
          });
      return Behaviors.empty();
    });
  }

  /** The settings it runs with (read and checked once, at its start). */
  public OffloaderSettings settings() {
    return settings;
  }

  public int apiPort() {
    return apiPort;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** Pauses (or resumes) the health monitor: the DPU is shutting down or rebooting. */
  public void pause(boolean paused) {
    offloader.tell(new Offloader.Pause(paused));
  }

  /** The last step of a DPU halt: this DPU's offloaded containers stopped (not as an operator's stop). */
  public CompletionStage<List<OffloadedContainer.Reply>> haltStop(Duration timeout) {
    return org.apache.pekko.actor.typed.javadsl.AskPattern.ask(offloader, Offloader.HaltStop::new, timeout, system.scheduler());
  }

  /** Runs the initialization sequence again (the DPU is back); the summary lines. */
  public CompletionStage<List<String>> init(Duration timeout) {
    return org.apache.pekko.actor.typed.javadsl.AskPattern.ask(offloader, Offloader.Init::new, timeout, system.scheduler());
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // terminating anyway
    }
  }
}
