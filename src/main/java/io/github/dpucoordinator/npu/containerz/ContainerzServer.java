package io.github.dpucoordinator.npu.containerz;

import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.npu.containerz.process.ProcessRuntime;
import io.github.dpucoordinator.proto.gnoi.containerz.Containerz;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzPowerApiHandlerFactory;
import java.io.IOException;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;

/**
 * Containerz put together for a gRPC server: the image store under {@code <data-dir>/containerz/images}, the runtime
 * chosen by {@code npu.containerz.runtime} (its containers under {@code <data-dir>/containerz/containers}), the request
 * rules, and the service. Used by {@code dpuctl npu} (on its DPU-facing API) and {@code dpuctl containerz} (alone). The
 * runtime is closed when the actor system terminates.
 */
public final class ContainerzServer {
  private ContainerzServer() {}

  /** The service to bind, and the runtime (whose containers the chassis status shows by DPU). */
  public record Opened(GrpcServers.Service service, ContainerRuntime runtime) {}

  /** Opens it; {@code dpus}: the DPUs a container's {@code dpu} label may name (empty: any). */
  public static Opened open(ActorSystem<?> system, ContainerzSettings settings, Set<String> dpus) throws IOException {
    return open(system, settings, dpus, Set.of());
  }

  /**
   * As {@link #open(ActorSystem, ContainerzSettings, Set)}; under mutual TLS a DPU manages only its own containers
   * ({@link OwnedContainerz}), and {@code operators} any.
   */
  public static Opened open(ActorSystem<?> system, ContainerzSettings settings, Set<String> dpus, Set<String> operators) throws IOException {
    var blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    ImageStore store = ImageStore.open(settings.root(), settings.maxImageSize(), settings.maxUploads(), settings.sameImageWait());
    ContainerRuntime runtime = switch (settings.runtime().kind()) {
      case "process" -> ProcessRuntime.open(system, settings.root().resolve("containers"), settings.runtime(), blocking);
      default -> io.github.dpucoordinator.npu.containerz.docker.DockerRuntime.open(system, settings, blocking);
    };
    system.getWhenTerminated().thenRun(runtime::close);
    ContainerzService service = new ContainerzService(store, settings.chunkSize(), runtime, new StartRequests(settings.allow(), dpus), blocking);
    OwnedContainerz owned = new OwnedContainerz(service, runtime, dpus, operators);
    return new Opened(new GrpcServers.Service(Containerz.description, ContainerzPowerApiHandlerFactory.partial(owned, Containerz.name, org.apache.pekko.stream.SystemMaterializer.get(system).materializer(), io.github.dpucoordinator.common.GrpcErrors.handler(), system)),
        runtime);
  }
}
