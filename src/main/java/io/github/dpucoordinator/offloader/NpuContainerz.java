package io.github.dpucoordinator.offloader;

import io.github.dpucoordinator.common.ContainerzUpload;
import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.HostPort;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransferSuccess;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.ListImageRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StopContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateContainerRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The offloader's gNOI Containerz client: what it asks of the NPU, for this DPU's containers (label {@code dpu=<id>}).
 * An RPC the NPU does not implement fails with {@link Unsupported} naming it (SONiC's own NPU implements only Deploy).
 * Not final: a test holds back one of its answers, to show what a late answer does.
 */
class NpuContainerz implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NpuContainerz.class);

  /** What the NPU reports for one container: RUNNING, STOPPED or MISSING, and its {@code name:tag}. */
  record Seen(String status, String image) {
    static final Seen MISSING = new Seen("MISSING", "");

    boolean running() {
      return status.equals("RUNNING");
    }
  }

  /** The NPU answered UNIMPLEMENTED for {@code rpc}. */
  static final class Unsupported extends RuntimeException {
    Unsupported(String rpc, String npu) {
      super("the NPU's Containerz at " + npu + " does not implement " + rpc + " (SONiC's gNOI server implements only Deploy); "
          + "the offloader needs ListContainer, ListImage, StartContainer, StopContainer and RemoveContainer");
    }
  }

  private final ActorSystem<?> system;
  private final OffloaderSettings settings;
  private final ContainerzClient client;
  private final HostPort npu;
  private final Executor blocking;

  NpuContainerz(ActorSystem<?> system, OffloaderSettings settings) {
    this.system = system;
    this.settings = settings;
    this.npu = settings.npu();
    this.client = ContainerzClient.create(settings.npuTls().apply(GrpcClientSettings.connectToServiceAt(npu.host(), npu.port(), system), npu.host()),
        system);
    this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
  }

  /** The container's instance name on the NPU: {@code <dpu-id>-<name>}, so that DPUs offloading the same service do not collide. */
  String instance(String name) {
    return settings.dpuId() + "-" + name;
  }

  /** This DPU's containers on the NPU, by instance name. */
  CompletionStage<Map<String, Seen>> list() {
    return timed("ListContainer", client.listContainer(ListContainerRequest.newBuilder().setAll(true).addFilter(ListContainerRequest.Filter
            .newBuilder().setKey("label").addValue("dpu=" + settings.dpuId())).build()).runWith(Sink.seq(), system))
        .thenApply(all -> {
          Map<String, Seen> out = new LinkedHashMap<>();
          for (ListContainerResponse c : all) {
            out.put(c.getName(), new Seen(c.getStatus() == ListContainerResponse.Status.RUNNING ? "RUNNING" : "STOPPED", c.getImageName()));
          }
          return out;
        });
  }

  CompletionStage<Seen> seen(String name) {
    return list().thenApply(all -> all.getOrDefault(instance(name), Seen.MISSING));
  }

  /**
   * Makes {@code image:tag} present on the NPU: nothing if it is there (ListImage), else deployed from the image dir's
   * {@code <image>/<tag>.tar}; failing, when it is in neither, with a message naming both places.
   */
  CompletionStage<String> ensureImage(String container, String image, String tag) {
    return timed("ListImage", client.listImage(ListImageRequest.getDefaultInstance()).runWith(Sink.seq(), system)).thenCompose(images -> {
      if (images.stream().anyMatch(i -> i.getImageName().equals(image) && i.getTag().equals(tag))) {
        return CompletableFuture.completedFuture("present on the NPU");
      }
      Optional<Path> tarball = tarball(image, tag);
      if (tarball.isEmpty()) {
        throw new CompletionException(new IllegalStateException(image + ":" + tag + " is neither on the NPU nor in the image dir ("
            + settings.imageDir().map(d -> d.resolve(image).resolve(tag + ".tar").toString()).orElse(OffloaderSettings.KEY + ".image-dir is not set")
            + ")"));
      }
      log.info("[container={} dpu={}] deploying {}:{} to the NPU from {}", container, settings.dpuId(), image, tag, tarball.get());
      return deploy(tarball.get(), image, tag, n -> {}).thenApply(s -> "deployed from " + tarball.get());
    });
  }

  /** {@code <image-dir>/<image>/<tag>.tar}, if it is there. */
  Optional<Path> tarball(String image, String tag) {
    return settings.imageDir().map(d -> d.resolve(image).resolve(tag + ".tar")).filter(Files::isRegularFile);
  }

  CompletionStage<ImageTransferSuccess> deploy(Path tarball, String image, String tag, LongConsumer progress) {
    return ContainerzUpload.deploy(client, system, tarball, image, tag, progress).toCompletableFuture()
        .orTimeout(settings.deployTimeout().toMillis(), TimeUnit.MILLISECONDS).exceptionally(e -> {
          throw new CompletionException(translate("Deploy", e));
        });
  }

  /** Starts {@code def} at {@code tag}: a stopped leftover of the same name is removed first; one already running is left. */
  CompletionStage<String> start(ContainerDef def, String tag) {
    return seen(def.name()).thenCompose(seen -> {
      if (seen.running() && seen.image().equals(def.image() + ":" + tag)) {
        return CompletableFuture.completedFuture("already running");
      }
      CompletionStage<Void> clear = seen == Seen.MISSING ? CompletableFuture.completedFuture(null) : remove(def.name(), true);
      return clear.thenCompose(v -> timed("StartContainer", client.startContainer(request(def, tag))).thenApply(r -> "started"));
    });
  }

  /** Replaces what runs as {@code def.name()} by {@code tag}: UpdateContainer, or stop, remove and start where the NPU lacks it. */
  CompletionStage<String> replace(ContainerDef def, String tag) {
    UpdateContainerRequest update = UpdateContainerRequest.newBuilder().setInstanceName(instance(def.name())).setImageName(def.image()).setImageTag(tag)
        .setParams(request(def, tag)).build();
    return seen(def.name()).thenCompose(seen -> {
      if (seen == Seen.MISSING) {
        return start(def, tag);
      }
      return client.updateContainer(update).toCompletableFuture().orTimeout(settings.callTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .thenApply(r -> "updated (UpdateContainer)")
          .exceptionallyCompose(e -> {
            Throwable c = Failures.unwrap(e);
            if (c instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.UNIMPLEMENTED) {
              return remove(def.name(), true).thenCompose(v -> start(def, tag)).thenApply(r -> "replaced (stop, remove, start: no UpdateContainer)");
            }
            return CompletableFuture.failedFuture(translate("UpdateContainer", e));
          });
    });
  }

  /** Stops it (NOT_FOUND counts as stopped). */
  CompletionStage<Void> stop(String name, boolean force) {
    return timed("StopContainer", client.stopContainer(StopContainerRequest.newBuilder().setInstanceName(instance(name)).setForce(force).build()))
        .<Void>thenApply(r -> null).exceptionally(e -> ifNotFound(e));
  }

  /** Removes it, stopping it first with {@code force} (NOT_FOUND counts as removed). */
  CompletionStage<Void> remove(String name, boolean force) {
    return timed("RemoveContainer", client.removeContainer(RemoveContainerRequest.newBuilder().setName(instance(name)).setForce(force).build()))
        .<Void>thenApply(r -> null).exceptionally(e -> ifNotFound(e));
  }

  /** Whether {@code port} on the NPU accepts a TCP connection within the health check's timeout. */
  CompletionStage<Boolean> portOpen(int port) {
    return CompletableFuture.supplyAsync(() -> {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(npu.host(), port), (int) settings.health().tcpTimeout().toMillis());
        return true;
      } catch (IOException refused) {
        return false;
      }
    }, blocking);
  }

  private StartContainerRequest request(ContainerDef def, String tag) {
    StartContainerRequest.Builder b = StartContainerRequest.newBuilder().setImageName(def.image()).setTag(tag).setInstanceName(instance(def.name()))
        .setCmd(def.cmd()).putAllEnvironment(def.env()).putAllLabels(def.labelsFor(settings.dpuId()));
    for (String p : def.ports()) {
      String[] ie = p.split(":");
      b.addPorts(StartContainerRequest.Port.newBuilder().setInternal(Integer.parseInt(ie[0])).setExternal(Integer.parseInt(ie[ie.length - 1])));
    }
    StartContainerRequest.Restart.Policy policy = switch (def.restart()) {
      case "always" -> StartContainerRequest.Restart.Policy.ALWAYS;
      case "unless-stopped" -> StartContainerRequest.Restart.Policy.UNLESS_STOPPED;
      case "on-failure" -> StartContainerRequest.Restart.Policy.ON_FAILURE;
      default -> StartContainerRequest.Restart.Policy.NONE;
    };
    return b.setRestart(StartContainerRequest.Restart.newBuilder().setPolicy(policy)).build();
  }

  private <T> CompletionStage<T> timed(String rpc, CompletionStage<T> call) {
    return call.toCompletableFuture().orTimeout(settings.callTimeout().toMillis(), TimeUnit.MILLISECONDS).exceptionally(e -> {
      throw new CompletionException(translate(rpc, e));
    });
  }

  private Throwable translate(String rpc, Throwable e) {
    Throwable c = Failures.unwrap(e);
    if (c instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.UNIMPLEMENTED) {
      return new Unsupported(rpc, settings.npuAddress());
    }
    if (c instanceof TimeoutException) {
      return new TimeoutException(rpc + " on the NPU at " + settings.npuAddress() + ": no answer in time");
    }
    return c;
  }

  private static <T> T ifNotFound(Throwable e) {
    Throwable c = Failures.unwrap(e);
    if (c instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.NOT_FOUND) {
      return null;
    }
    throw e instanceof CompletionException ce ? ce : new CompletionException(c);
  }

  /** Whether {@code e} says the NPU could not be reached (no connection, or no answer in time), rather than refused. */
  static boolean unreachable(Throwable e) {
    Throwable c = Failures.unwrap(e);
    return c instanceof StatusRuntimeException s ? Failures.notReached(s.getStatus()) : c instanceof TimeoutException;
  }

  /** One line for an operator: an unreachable NPU said as such. */
  static String describe(Throwable e) {
    Throwable c = Failures.unwrap(e);
    if (c instanceof StatusRuntimeException s) {
      return s.getStatus().getCode() == Status.Code.UNAVAILABLE ? "the NPU cannot be reached (" + s.getStatus().getDescription() + ")"
          : s.getStatus().getCode() + ": " + s.getStatus().getDescription();
    }
    return String.valueOf(c.getMessage());
  }

  @Override
  public void close() {
    client.close();
  }
}
