package io.github.dpucoordinator.npu.containerz;

import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.LogRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.LogResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.StartOK;
import io.github.dpucoordinator.proto.gnoi.containerz.StopContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StopContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateOK;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The container RPCs of {@link ContainerzService}, on a {@link ContainerRuntime}: requests are checked here (image
 * deployed, {@link StartRequests}' rules, ports free), the runtime does the rest; every refusal becomes the gRPC status
 * its {@link ContainerzError} names.
 */
final class ContainerRpcs {
  private static final Logger log = LoggerFactory.getLogger(ContainerRpcs.class);

  private final ImageStore store;
  private final ContainerRuntime runtime;
  private final StartRequests checks;
  private final Executor blocking;

  ContainerRpcs(ImageStore store, ContainerRuntime runtime, StartRequests checks, Executor blocking) {
    this.store = store;
    this.runtime = runtime;
    this.checks = checks;
    this.blocking = blocking;
  }

  /** {@code work} on the blocking dispatcher, its refusals made gRPC statuses. */
  private <T> CompletionStage<T> answer(Supplier<CompletionStage<T>> work) {
    return CompletableFuture.supplyAsync(work, blocking).thenCompose(s -> s).exceptionally(failure -> {
      throw ContainerzService.status(ContainerzError.from(failure));
    });
  }

  private static <T> CompletionStage<T> failed(ContainerzError e) {
    return CompletableFuture.failedFuture(e);
  }

  /** The image {@code name:tag}, deployed: its spec's image ref and id, or NOT_FOUND. */
  private ImageStore.Image image(String name, String tag) throws ContainerzError {
    try {
      return store.get(ImageRef.of(name, tag.isEmpty() ? "latest" : tag));
    } catch (IOException e) {
      throw new ContainerzError(Code.INTERNAL, "cannot read the image store: " + e.getMessage(), e);
    }
  }

  CompletionStage<StartContainerResponse> start(StartContainerRequest r) {
    return answer(() -> {
      if (r.getImageName().isEmpty() && !r.getInstanceName().isEmpty()) {
        return runtime.startAgain(r.getInstanceName()).thenApply(ContainerRpcs::started); // names only a stopped instance
      }
      try {
        ImageStore.Image image = image(r.getImageName(), r.getTag());
        ContainerSpec spec = checks.check(r, image.ref(), image.id());
        checkPortsFree(spec);
        return runtime.start(spec, store.tarball(image.ref())).thenApply(name -> {
          log.info("[container={} dpu={}] started from {}", name, spec.dpu(), spec.image());
          return started(name);
        });
      } catch (ContainerzError e) {
        log.warn("[container={} dpu={}] start refused: {}", r.getInstanceName().isEmpty() ? "new" : r.getInstanceName(),
            r.getLabelsMap().getOrDefault(ContainerSpec.DPU_LABEL, "none"), e.getMessage());
        return failed(e);
      }
    });
  }

  private static StartContainerResponse started(String name) {
    return StartContainerResponse.newBuilder().setStartOk(StartOK.newBuilder().setInstanceName(name)).build();
  }

  /** UNAVAILABLE when an external port is taken (on any address). */
  private static void checkPortsFree(ContainerSpec spec) throws ContainerzError {
    for (ContainerSpec.Port p : spec.ports()) {
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(p.external()));
      } catch (IOException e) {
        throw new ContainerzError(Code.UNAVAILABLE, "port " + p.external() + " is in use");
      }
    }
  }

  CompletionStage<StopContainerResponse> stop(StopContainerRequest r) {
    return answer(() -> runtime.stop(r.getInstanceName(), r.getForce())
        .thenCompose(name -> r.getRestart() ? runtime.startAgain(name) : CompletableFuture.completedFuture(name))
        .thenApply(name -> StopContainerResponse.getDefaultInstance()));
  }

  CompletionStage<RemoveContainerResponse> remove(RemoveContainerRequest r) {
    return answer(() -> runtime.remove(r.getName(), r.getForce()).thenApply(name -> RemoveContainerResponse.getDefaultInstance()));
  }

  Source<ListContainerResponse, NotUsed> list(ListContainerRequest r) {
    return Source.completionStage(answer(runtime::list)).mapConcat(all -> all.stream()
        .filter(c -> r.getAll() || c.running())
        .filter(c -> r.getFilterList().stream().allMatch(f -> matches(c, f.getKey(), f.getValueList())))
        .limit(r.getLimit() > 0 ? r.getLimit() : Long.MAX_VALUE)
        .map(c -> ListContainerResponse.newBuilder().setId(c.id()).setName(c.name()).setImageName(c.image().toString())
            .setStatus(c.running() ? ListContainerResponse.Status.RUNNING : ListContainerResponse.Status.STOPPED)
            .putAllLabels(c.labels()).build())
        .toList());
  }

  /** Filters: {@code name}, {@code image} (name or name:tag), {@code label} (key or key=value); unknown keys match nothing. */
  private static boolean matches(ContainerRuntime.Container c, String key, List<String> values) {
    return switch (key) {
      case "name", "instance_name" -> values.contains(c.name());
      case "image", "image_name" -> values.contains(c.image().name()) || values.contains(c.image().toString());
      case "label", "labels" -> values.stream().anyMatch(v -> {
        int eq = v.indexOf('=');
        return eq < 0 ? c.labels().containsKey(v) : v.substring(eq + 1).equals(c.labels().get(v.substring(0, eq)));
      });
      default -> false;
    };
  }

  CompletionStage<UpdateContainerResponse> update(UpdateContainerRequest r) {
    return answer(() -> {
      String name = r.getInstanceName();
      try {
        ImageStore.Image image = image(r.getImageName(), r.getImageTag());
        ContainerSpec next = checks.check(r.getParams().toBuilder().setInstanceName(name).build(), image.ref(), image.id());
        return runtime.list().thenCompose(all -> {
          if (all.stream().noneMatch(c -> c.name().equals(name))) {
            return failed(new ContainerzError(Code.NOT_FOUND, "no container instance " + name));
          }
          CompletionStage<String> done = runtime.update(name, next, store.tarball(image.ref()));
          if (r.getAsync()) {
            done.whenComplete((ok, f) -> {
              if (f != null) {
                log.warn("[container={} dpu={}] asynchronous update to {}: {}", name, next.dpu(), next.image(), ContainerzError.from(f).getMessage());
              }
            });
            return CompletableFuture.completedFuture(UpdateContainerResponse.newBuilder()
                .setUpdateOk(UpdateOK.newBuilder().setInstanceName(name).setIsAsync(true)).build());
          }
          return done.thenApply(n -> UpdateContainerResponse.newBuilder().setUpdateOk(UpdateOK.newBuilder().setInstanceName(n)).build());
        });
      } catch (ContainerzError e) {
        return failed(e);
      }
    });
  }

  Source<LogResponse, NotUsed> log(LogRequest r) {
    return Source.completionStageSource(answer(() -> runtime.log(r.getInstanceName(), r.getFollow())))
        .map(line -> LogResponse.newBuilder().setMsg(line).build())
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /** FAILED_PRECONDITION while a container uses {@code ref} (with {@code force}: while one that uses it runs). */
  CompletionStage<Void> checkUnused(ImageRef ref, boolean force) {
    return runtime.list().thenAccept(all -> all.stream().filter(c -> c.image().equals(ref) && (c.running() || !force)).findFirst()
        .ifPresent(c -> {
          throw new CompletionException(new ContainerzError(Code.FAILED_PRECONDITION, "the image " + ref + " is used by the container "
              + c.name() + (c.running() ? " (running)" : " (stopped; remove it first, or remove the image with force)")));
        }));
  }
}
