package io.github.dpucoordinator.npu.containerz;

import io.github.dpucoordinator.common.tls.PeerAuth;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzPowerApi;
import io.github.dpucoordinator.proto.gnoi.containerz.CreateVolumeRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.CreateVolumeResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.ListImageRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListImageResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.ListPluginsRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListPluginsResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.ListVolumeRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListVolumeResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.LogRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.LogResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveImageRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveImageResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemovePluginRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.RemovePluginResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemovePluginTarRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.RemovePluginTarResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveVolumeRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveVolumeResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.StartPluginRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StartPluginResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.StopContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StopContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.StopPluginRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StopPluginResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateContainerResponse;
import io.grpc.Status;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Containerz as a DPU may use it under mutual TLS: only containers labelled {@code dpu=<its id>} (a container it
 * starts without the label gets it; with another DPU's, PERMISSION_DENIED), its list only its own, and no forced image
 * removal. Images are shared, so Deploy and ListImage are open to every DPU. A caller without a certificate identity
 * (plaintext or TLS only) or an operator ({@code npu.dpu-api.tls.operators}) is served as before.
 */
public final class OwnedContainerz implements ContainerzPowerApi {
  private static final Logger log = LoggerFactory.getLogger(OwnedContainerz.class);
  private final ContainerzService service;
  private final ContainerRuntime runtime;
  private final Set<String> dpus;
  private final Set<String> operators;

  public OwnedContainerz(ContainerzService service, ContainerRuntime runtime, Set<String> dpus, Set<String> operators) {
    this.service = service;
    this.runtime = runtime;
    this.dpus = dpus;
    this.operators = operators;
  }

  /** The DPU the caller is, when it is one (not an operator, not without a certificate). */
  private Optional<String> dpu(Metadata metadata) {
    List<String> ids = PeerAuth.identities(metadata);
    if (ids.isEmpty() || ids.stream().anyMatch(operators::contains)) {
      return Optional.empty();
    }
    return Optional.of(ids.stream().filter(dpus::contains).findFirst().orElse(ids.get(0)));
  }

  private static GrpcServiceException denied(String dpu, String what) {
    return new GrpcServiceException(Status.PERMISSION_DENIED.withDescription(dpu + " may not " + what + ": a DPU manages only containers labelled "
        + ContainerSpec.DPU_LABEL + "=" + dpu));
  }

  /** Runs {@code call} once {@code instance} is known to be the caller's (or not to exist: the service then says NOT_FOUND). */
  private <T> CompletionStage<T> owned(Metadata metadata, String instance, String what, Supplier<CompletionStage<T>> call) {
    Optional<String> dpu = dpu(metadata);
    if (dpu.isEmpty()) {
      return call.get();
    }
    return runtime.list().thenCompose(all -> {
      Optional<ContainerRuntime.Container> c = all.stream().filter(x -> x.name().equals(instance)).findFirst();
      if (c.isPresent() && !dpu.get().equals(c.get().labels().get(ContainerSpec.DPU_LABEL))) {
        log.warn("[container={} dpu={}] {} refused: the caller's certificate is {}", instance,
            c.get().labels().getOrDefault(ContainerSpec.DPU_LABEL, "none"), what, dpu.get());
        return CompletableFuture.failedFuture(denied(dpu.get(), what + " " + instance));
      }
      return call.get();
    });
  }

  /** {@code params} labelled for the calling DPU (added when absent), or the refusal when labelled for another. */
  private static StartContainerRequest labelled(String dpu, StartContainerRequest params, String what) {
    String label = params.getLabelsMap().get(ContainerSpec.DPU_LABEL);
    if (label != null && !label.equals(dpu)) {
      log.warn("[container={} dpu={}] {} refused: the caller's certificate is {}", params.getInstanceName().isEmpty() ? "new"
          : params.getInstanceName(), label, what, dpu);
      throw denied(dpu, what + " a container labelled " + ContainerSpec.DPU_LABEL + "=" + label);
    }
    return params.toBuilder().putLabels(ContainerSpec.DPU_LABEL, dpu).build();
  }

  @Override
  public CompletionStage<StartContainerResponse> startContainer(StartContainerRequest in, Metadata metadata) {
    Optional<String> dpu = dpu(metadata);
    try {
      return service.startContainer(dpu.isEmpty() ? in : labelled(dpu.get(), in, "start"));
    } catch (GrpcServiceException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public CompletionStage<UpdateContainerResponse> updateContainer(UpdateContainerRequest in, Metadata metadata) {
    Optional<String> dpu = dpu(metadata);
    UpdateContainerRequest request;
    try {
      request = dpu.isEmpty() || !in.hasParams() ? in : in.toBuilder().setParams(labelled(dpu.get(), in.getParams(), "update to")).build();
    } catch (GrpcServiceException e) {
      return CompletableFuture.failedFuture(e);
    }
    return owned(metadata, in.getInstanceName(), "update", () -> service.updateContainer(request));
  }

  @Override
  public CompletionStage<StopContainerResponse> stopContainer(StopContainerRequest in, Metadata metadata) {
    return owned(metadata, in.getInstanceName(), "stop", () -> service.stopContainer(in));
  }

  @Override
  public CompletionStage<RemoveContainerResponse> removeContainer(RemoveContainerRequest in, Metadata metadata) {
    return owned(metadata, in.getName(), "remove", () -> service.removeContainer(in));
  }

  @Override
  public Source<LogResponse, NotUsed> log(LogRequest in, Metadata metadata) {
    return Source.completionStage(owned(metadata, in.getInstanceName(), "read the log of", () -> CompletableFuture.completedFuture(in)))
        .flatMapConcat(service::log);
  }

  @Override
  public Source<ListContainerResponse, NotUsed> listContainer(ListContainerRequest in, Metadata metadata) {
    Optional<String> dpu = dpu(metadata);
    Source<ListContainerResponse, NotUsed> all = service.listContainer(in);
    return dpu.isEmpty() ? all : all.filter(c -> dpu.get().equals(c.getLabelsMap().get(ContainerSpec.DPU_LABEL)));
  }

  @Override
  public CompletionStage<RemoveImageResponse> removeImage(RemoveImageRequest in, Metadata metadata) {
    Optional<String> dpu = dpu(metadata);
    if (dpu.isPresent() && in.getForce()) {
      return CompletableFuture.failedFuture(new GrpcServiceException(Status.PERMISSION_DENIED.withDescription(dpu.get()
          + " may not force an image's removal: images are shared by every DPU's containers")));
    }
    return service.removeImage(in);
  }

  @Override
  public Source<DeployResponse, NotUsed> deploy(Source<DeployRequest, NotUsed> in, Metadata metadata) {
    return service.deploy(in);
  }

  @Override
  public Source<ListImageResponse, NotUsed> listImage(ListImageRequest in, Metadata metadata) {
    return service.listImage(in);
  }

  @Override
  public CompletionStage<CreateVolumeResponse> createVolume(CreateVolumeRequest in, Metadata metadata) {
    return service.createVolume(in);
  }

  @Override
  public CompletionStage<RemoveVolumeResponse> removeVolume(RemoveVolumeRequest in, Metadata metadata) {
    return service.removeVolume(in);
  }

  @Override
  public Source<ListVolumeResponse, NotUsed> listVolume(ListVolumeRequest in, Metadata metadata) {
    return service.listVolume(in);
  }

  @Override
  public CompletionStage<StartPluginResponse> startPlugin(StartPluginRequest in, Metadata metadata) {
    return service.startPlugin(in);
  }

  @Override
  public CompletionStage<StopPluginResponse> stopPlugin(StopPluginRequest in, Metadata metadata) {
    return service.stopPlugin(in);
  }

  @Override
  public CompletionStage<ListPluginsResponse> listPlugins(ListPluginsRequest in, Metadata metadata) {
    return service.listPlugins(in);
  }

  @Override
  public CompletionStage<RemovePluginResponse> removePlugin(RemovePluginRequest in, Metadata metadata) {
    return service.removePlugin(in);
  }

  @Override
  public CompletionStage<RemovePluginTarResponse> removePluginTar(RemovePluginTarRequest in, Metadata metadata) {
    return service.removePluginTar(in);
  }
}
