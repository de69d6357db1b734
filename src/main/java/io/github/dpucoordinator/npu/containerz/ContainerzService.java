package io.github.dpucoordinator.npu.containerz;

import io.github.dpucoordinator.proto.gnoi.containerz.Containerz;
import io.github.dpucoordinator.proto.gnoi.containerz.CreateVolumeRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.CreateVolumeResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransferProgress;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransferReady;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransferSuccess;
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
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * gNOI Containerz, served by the NPU on its DPU-facing API. Images: Deploy (the streamed upload, lock step: Ready with
 * the chunk size, a Progress for each chunk, Success after the end and the store's check), ListImage, RemoveImage, on
 * the {@link ImageStore}; an image a container uses is not removed. Containers: {@link ContainerRpcs} on a
 * {@link ContainerRuntime}. Refusals are gRPC statuses ({@link ContainerzError}'s codes); volumes and plugins answer
 * UNIMPLEMENTED saying so. File work runs on the blocking dispatcher.
 */
public final class ContainerzService implements Containerz {
  private static final Logger log = LoggerFactory.getLogger(ContainerzService.class);
  private static final String BLOCKING = "pekko.actor.default-blocking-io-dispatcher";

  private final ImageStore store;
  private final int chunkSize;
  private final Executor blocking;
  private final ContainerRpcs containers;

  public ContainerzService(ImageStore store, int chunkSize, ContainerRuntime runtime, StartRequests checks, Executor blocking) {
    this.store = store;
    this.chunkSize = chunkSize;
    this.blocking = blocking;
    this.containers = new ContainerRpcs(store, runtime, checks, blocking);
  }

  static GrpcServiceException status(ContainerzError e) {
    return new GrpcServiceException(Status.fromCode(Status.Code.valueOf(e.code().name())).withDescription(e.getMessage()));
  }

  private static GrpcServiceException unimplemented(String what) {
    return new GrpcServiceException(Status.UNIMPLEMENTED.withDescription(what));
  }

  @Override
  public Source<DeployResponse, NotUsed> deploy(Source<DeployRequest, NotUsed> in) {
    Deploy session = new Deploy();
    return in.map(session::next)
        .mapConcat(r -> r)
        .concatLazy(Source.lazySource(session::ended))
        .takeWhile(r -> !r.hasImageTransferSuccess(), true)
        .watchTermination((mat, done) -> {
          done.whenComplete((ok, failure) -> session.abandon(failure));
          counted("deploy", done);
          return NotUsed.getInstance();
        })
        .withAttributes(ActorAttributes.dispatcher(BLOCKING));
  }

  /** One Deploy stream's state: before the ImageTransfer, uploading, or done. Used by one stream, one element at a time. */
  private final class Deploy {
    private ImageStore.Upload upload;
    private long begun;
    private ImageStore.Image stored;

    List<DeployResponse> next(DeployRequest r) throws GrpcServiceException {
      try {
        if (upload == null && stored == null) {
          return List.of(begin(r));
        }
        if (stored != null) {
          return List.of(); // anything after the end is discarded
        }
        if (r.hasImageTransfer()) {
          throw new ContainerzError(ContainerzError.Code.INVALID_ARGUMENT, "a second ImageTransfer in one Deploy");
        }
        if (r.hasImageTransferEnd()) {
          stored = upload.finish();
          long ms = Math.max(1, (System.nanoTime() - begun) / 1_000_000);
          log.info("[container=image dpu=all] deployed {} ({} bytes in {} ms, {} MB/s, id {})", stored.ref(), stored.size(), ms,
              String.format("%.1f", stored.size() / 1e6 / (ms / 1e3)), stored.id());
          return List.of(DeployResponse.newBuilder().setImageTransferSuccess(ImageTransferSuccess.newBuilder()
              .setName(stored.ref().name()).setTag(stored.ref().tag()).setImageSize(stored.size())).build());
        }
        if (r.getContent().size() > chunkSize) {
          throw new ContainerzError(ContainerzError.Code.INVALID_ARGUMENT, "a content chunk of " + r.getContent().size()
              + " bytes is larger than the chunk size of " + chunkSize + " bytes asked for in ImageTransferReady; nothing was kept");
        }
        long received = upload.write(r.getContent().toByteArray());
        return List.of(DeployResponse.newBuilder().setImageTransferProgress(ImageTransferProgress.newBuilder().setBytesReceived(received))
            .build());
      } catch (ContainerzError e) {
        log.warn("[container=image dpu=all] deploy refused: {}", e.getMessage());
        abandon(null);
        throw status(e);
      }
    }

    private DeployResponse begin(DeployRequest r) throws ContainerzError, GrpcServiceException {
      if (!r.hasImageTransfer()) {
        throw new ContainerzError(ContainerzError.Code.INVALID_ARGUMENT, "a Deploy starts with an ImageTransfer (name, tag, image_size)");
      }
      var t = r.getImageTransfer();
      if (t.hasRemoteDownload()) {
        throw unimplemented("remote_download is not supported here: send the image's bytes in the Deploy stream instead");
      }
      if (t.getIsPlugin()) {
        throw unimplemented("plugins are not supported by this Containerz server");
      }
      upload = store.begin(ImageRef.of(t.getName(), t.getTag()), t.getImageSize());
      begun = System.nanoTime();
      return DeployResponse.newBuilder().setImageTransferReady(ImageTransferReady.newBuilder().setChunkSize(chunkSize)).build();
    }

    /** After the client's last message: nothing more if the image was stored, else an error (and nothing kept). */
    Source<DeployResponse, NotUsed> ended() {
      if (stored != null) {
        return Source.empty();
      }
      abandon(null);
      return Source.failed(status(new ContainerzError(ContainerzError.Code.INVALID_ARGUMENT,
          "the Deploy stream ended before ImageTransferEnd; nothing was kept")));
    }

    void abandon(Throwable why) {
      if (upload != null && stored == null) {
        upload.abandon();
        upload = null; // once: a refusal abandons it before the stream fails with it
        if (why != null) {
          log.warn("[container=image dpu=all] deploy cut off ({}); nothing kept", why.toString());
        }
      }
    }
  }

  @Override
  public Source<ListImageResponse, NotUsed> listImage(ListImageRequest in) {
    return Source.completionStage(CompletableFuture.supplyAsync(() -> {
      try {
        return store.list();
      } catch (IOException e) {
        throw new GrpcServiceException(Status.INTERNAL.withDescription("cannot read the image store: " + e.getMessage()));
      }
    }, blocking)).mapConcat(images -> images.stream()
        .filter(i -> in.getFilterList().stream().allMatch(f -> switch (f.getKey()) {
          case "name", "image_name" -> f.getValueList().contains(i.ref().name());
          case "tag" -> f.getValueList().contains(i.ref().tag());
          default -> true;
        }))
        .limit(in.getLimit() > 0 ? in.getLimit() : Long.MAX_VALUE)
        .map(i -> ListImageResponse.newBuilder().setId(i.id()).setImageName(i.ref().name()).setTag(i.ref().tag()).build())
        .toList());
  }

  @Override
  public CompletionStage<RemoveImageResponse> removeImage(RemoveImageRequest in) {
    ImageRef ref;
    try {
      ref = ImageRef.of(in.getName(), in.getTag());
    } catch (ContainerzError e) {
      return CompletableFuture.failedFuture(status(e));
    }
    return containers.checkUnused(ref, in.getForce()).exceptionally(f -> {
      throw status(ContainerzError.from(f));
    }).thenApplyAsync(unused -> {
      try {
        store.remove(ref);
        log.info("[container=image dpu=all] removed {}:{}", in.getName(), in.getTag());
        return RemoveImageResponse.getDefaultInstance();
      } catch (ContainerzError e) {
        throw status(e);
      } catch (IOException e) {
        throw new GrpcServiceException(Status.INTERNAL.withDescription("cannot remove " + in.getName() + ":" + in.getTag() + ": "
            + e.getMessage()));
      }
    }, blocking);
  }

  /** {@code op}'s outcome counted in {@code dpu_containerz_operations_total} (ok, or the gRPC status code it failed with). */
  private static <T> CompletionStage<T> counted(String op, CompletionStage<T> call) {
    return call.whenComplete((ok, failure) -> io.github.dpucoordinator.common.Metrics.counter("dpu.containerz.operations",
        "Containerz operations on the NPU, by operation and outcome", "op", op, "outcome", failure == null ? "ok"
            : io.grpc.Status.fromThrowable(io.github.dpucoordinator.common.Failures.unwrap(failure)).getCode().name()).increment());
  }

  private static <T> CompletionStage<T> never(String what) {
    return CompletableFuture.failedFuture(unimplemented(what + " are not supported by this Containerz server"));
  }

  @Override
  public CompletionStage<RemoveContainerResponse> removeContainer(RemoveContainerRequest in) {
    return counted("remove-container", containers.remove(in));
  }

  @Override
  public Source<ListContainerResponse, NotUsed> listContainer(ListContainerRequest in) {
    return containers.list(in);
  }

  @Override
  public CompletionStage<StartContainerResponse> startContainer(StartContainerRequest in) {
    return counted("start-container", containers.start(in));
  }

  @Override
  public CompletionStage<StopContainerResponse> stopContainer(StopContainerRequest in) {
    return counted("stop-container", containers.stop(in));
  }

  @Override
  public CompletionStage<UpdateContainerResponse> updateContainer(UpdateContainerRequest in) {
    return counted("update-container", containers.update(in));
  }

  @Override
  public Source<LogResponse, NotUsed> log(LogRequest in) {
    return containers.log(in);
  }

  @Override
  public CompletionStage<CreateVolumeResponse> createVolume(CreateVolumeRequest in) {
    return never("volumes");
  }

  @Override
  public CompletionStage<RemoveVolumeResponse> removeVolume(RemoveVolumeRequest in) {
    return never("volumes");
  }

  @Override
  public Source<ListVolumeResponse, NotUsed> listVolume(ListVolumeRequest in) {
    return Source.failed(unimplemented("volumes are not supported by this Containerz server"));
  }

  @Override
  public CompletionStage<StartPluginResponse> startPlugin(StartPluginRequest in) {
    return never("plugins");
  }

  @Override
  public CompletionStage<StopPluginResponse> stopPlugin(StopPluginRequest in) {
    return never("plugins");
  }

  @Override
  public CompletionStage<ListPluginsResponse> listPlugins(ListPluginsRequest in) {
    return never("plugins");
  }

  @Override
  public CompletionStage<RemovePluginResponse> removePlugin(RemovePluginRequest in) {
    return never("plugins");
  }

  @Override
  public CompletionStage<RemovePluginTarResponse> removePluginTar(RemovePluginTarRequest in) {
    return never("plugins");
  }
}
