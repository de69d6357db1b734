package io.github.dpucoordinator.offloader;

import io.github.dpucoordinator.npu.journal.JournalHealth;
import io.github.dpucoordinator.npu.containerz.DockerArchive;
import io.github.dpucoordinator.proto.offloader.ContainerRef;
import io.github.dpucoordinator.proto.offloader.ContainerState;
import io.github.dpucoordinator.proto.offloader.DeployProgress;
import io.github.dpucoordinator.proto.offloader.DeployRequest;
import io.github.dpucoordinator.proto.offloader.HistoryEntry;
import io.github.dpucoordinator.proto.offloader.HistoryReply;
import io.github.dpucoordinator.proto.offloader.ListReply;
import io.github.dpucoordinator.proto.offloader.ListRequest;
import io.github.dpucoordinator.proto.offloader.OpReply;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The offloader's local API: what {@code offloadctl} asks, answered from (and recorded by) the offloader's actors. */
final class OffloaderApi implements io.github.dpucoordinator.proto.offloader.Offloader {
  private static final Logger log = LoggerFactory.getLogger(OffloaderApi.class);

  private final ActorSystem<?> system;
  private final ActorRef<Offloader.Command> offloader;
  private final OffloaderSettings settings;
  private final NpuContainerz npu;
  private final Duration ask;

  OffloaderApi(ActorSystem<?> system, ActorRef<Offloader.Command> offloader, OffloaderSettings settings, NpuContainerz npu) {
    this.system = system;
    this.offloader = offloader;
    this.settings = settings;
    this.npu = npu;
    this.ask = settings.startTimeout();
  }

  @Override
  public CompletionStage<ListReply> list(ListRequest in) {
    return listing().thenApply(l -> ListReply.newBuilder().setDpu(l.dpuId()).setDpuVersion(l.dpuVersion()).setPaused(l.paused())
        .setNpu(settings.npuAddress()).addAllJournalFailures(journalFailures()).addAllContainers(l.containers().stream().sorted(Comparator.comparing(OffloadedContainer.View::name))
            .map(OffloaderApi::state).toList()).build());
  }

  /** The offloader's entities whose journal writes fail now, each with why and for how long. */
  private List<String> journalFailures() {
    long now = System.currentTimeMillis();
    return JournalHealth.get(system).failures().stream().map(f -> f.entity() + ": " + f.cause() + " (failing for " + (now - f.since()) / 1000
        + " s, " + f.attempts() + " restart(s))").toList();
  }

  private CompletionStage<Offloader.Listing> listing() {
    return AskPattern.ask(offloader, Offloader.ListAll::new, Duration.ofSeconds(15), system.scheduler());
  }

  @Override
  public CompletionStage<ContainerState> status(ContainerRef in) {
    return forContainer(in.getName(), OffloadedContainer.Get::new).thenApply(OffloaderApi::state);
  }

  @Override
  public CompletionStage<OpReply> start(ContainerRef in) {
    return op(in.getName(), OffloadedContainer.OperatorStart::new);
  }

  @Override
  public CompletionStage<OpReply> stop(ContainerRef in) {
    return op(in.getName(), OffloadedContainer.OperatorStop::new);
  }

  @Override
  public CompletionStage<OpReply> rollback(ContainerRef in) {
    return op(in.getName(), OffloadedContainer.OperatorRollback::new);
  }

  @Override
  public CompletionStage<HistoryReply> history(ContainerRef in) {
    CompletionStage<List<OffloadedContainer.View>> views = in.getName().isEmpty() ? listing().thenApply(Offloader.Listing::containers)
        : forContainer(in.getName(), OffloadedContainer.Get::new).thenApply(List::of);
    return views.thenApply(all -> {
      List<HistoryEntry> entries = new ArrayList<>();
      all.forEach(v -> v.book().history().forEach(h -> entries.add(HistoryEntry.newBuilder().setAtMs(h.atMs()).setContainer(v.name())
          .setEvent(h.kind()).setDetail(h.detail()).build())));
      entries.sort(Comparator.comparingLong(HistoryEntry::getAtMs));
      return HistoryReply.newBuilder().addAllEntries(entries).build();
    });
  }

  /**
   * Deploys a tarball (or {@code name:tag} from the image dir) to the NPU, with progress; with a container name, that
   * container is defined (or moved) to run the image, and the version sync upgrades it (rolling back if it fails).
   */
  @Override
  public Source<DeployProgress, NotUsed> deploy(DeployRequest in) {
    Pair<SourceQueueWithComplete<DeployProgress>, Source<DeployProgress, NotUsed>> queue = Source.<DeployProgress>queue(16,
        OverflowStrategy.dropHead()).preMaterialize(system);
    SourceQueueWithComplete<DeployProgress> out = queue.first();
    CompletableFuture.supplyAsync(() -> resolve(in)).thenCompose(target -> {
      long size = sizeOf(target.file());
      log.info("[container={} dpu={}] offloadctl deploy: {} as {}:{} ({} bytes) to the NPU at {}", in.getContainer().isEmpty() ? "image"
          : in.getContainer(), settings.dpuId(), target.file(), target.image(), target.tag(), size, settings.npuAddress());
      return npu.deploy(target.file(), target.image(), target.tag(), n -> out.offer(DeployProgress.newBuilder().setBytesSent(n).setTotal(size)
          .build())).thenCompose(ok -> define(in, target).thenApply(what -> DeployProgress.newBuilder().setBytesSent(size).setTotal(size)
          .setDone(target.image() + ":" + target.tag() + " deployed to the NPU (" + size + " bytes)" + what).build()));
    }).whenComplete((last, failure) -> {
      if (failure != null) {
        out.fail(status(failure));
      } else {
        out.offer(last);
        out.complete();
      }
    });
    return queue.second();
  }

  private record Target(Path file, String image, String tag) {}

  private Target resolve(DeployRequest in) {
    String source = in.getSource();
    Path file = Path.of(source);
    if (Files.isRegularFile(file)) {
      String ref = in.getImage();
      if (ref.isEmpty()) {
        try {
          List<String> tags = DockerArchive.repoTags(file);
          if (tags.isEmpty()) {
            throw invalid(source + " names no image (no RepoTags in its manifest.json): give --image NAME:TAG");
          }
          ref = tags.get(0);
        } catch (java.io.IOException e) {
          throw invalid(e.getMessage());
        }
      }
      int colon = ref.lastIndexOf(':');
      if (colon < 1 || ref.indexOf('/', colon) >= 0) {
        throw invalid("'" + ref + "' is not NAME:TAG");
      }
      return new Target(file, ref.substring(0, colon), ref.substring(colon + 1));
    }
    int colon = source.lastIndexOf(':');
    if (colon < 1) {
      throw invalid(source + " is neither a file nor NAME:TAG");
    }
    String image = source.substring(0, colon);
    String tag = source.substring(colon + 1);
    return npu.tarball(image, tag).map(t -> new Target(t, image, tag)).orElseThrow(() -> new GrpcServiceException(Status.NOT_FOUND
        .withDescription(source + " is not in the image dir (" + settings.imageDir().map(d -> d.resolve(image).resolve(tag + ".tar").toString())
            .orElse(OffloaderSettings.KEY + ".image-dir is not set") + ")")));
  }

  /** With a container name: defines it to run the image (a new one, or the same one moved to it); then a sync. */
  private CompletionStage<String> define(DeployRequest in, Target target) {
    if (in.getContainer().isEmpty()) {
      return CompletableFuture.completedFuture("");
    }
    return listing().thenCompose(l -> {
      OffloadedContainer.View existing = l.containers().stream().filter(v -> v.name().equals(in.getContainer())).findFirst().orElse(null);
      ContainerDef def;
      if (existing != null && existing.book().defined()) {
        def = existing.book().def().withImage(target.image(), target.tag());
      } else {
        Map<String, String> env = new TreeMap<>();
        for (String kv : in.getEnvList()) {
          int eq = kv.indexOf('=');
          if (eq < 1) {
            throw invalid("--env " + kv + " is not K=V");
          }
          env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        def = new ContainerDef(in.getContainer(), target.image(), target.tag(), "", env, in.getPortsList(), Map.of(), "none", in.getHealthPort());
      }
      try {
        def.check("the deploy's container");
      } catch (IllegalArgumentException e) {
        throw invalid(e.getMessage());
      }
      ContainerDef defined = def;
      return AskPattern.<Offloader.Command, org.apache.pekko.Done>ask(offloader, r -> new Offloader.Define(defined, r), Duration.ofSeconds(15),
          system.scheduler()).thenApply(d -> {
            offloader.tell(new Offloader.SyncNow(null));
            return existing != null ? "; " + in.getContainer() + " moves to " + target.tag() + " (upgraded by the version sync, rolled back if "
                + "it does not stay healthy)" : "; container " + in.getContainer() + " defined and started by the version sync";
          });
    });
  }

  private static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (java.io.IOException e) {
      throw invalid(e.getMessage());
    }
  }

  private static GrpcServiceException invalid(String why) {
    return new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription(why));
  }

  private <T> CompletionStage<T> forContainer(String name, java.util.function.Function<ActorRef<T>, OffloadedContainer.Command> request) {
    return AskPattern.<Offloader.Command, java.util.Optional<ActorRef<OffloadedContainer.Command>>>ask(offloader, r -> new Offloader.Find(name, r),
        Duration.ofSeconds(15), system.scheduler()).thenCompose(found -> AskPattern.ask(found.orElseThrow(() -> new GrpcServiceException(
            Status.NOT_FOUND.withDescription("no offloaded container " + name + " on DPU " + settings.dpuId()))), request::apply, ask, system.scheduler()));
  }

  private CompletionStage<OpReply> op(String name, java.util.function.Function<ActorRef<OffloadedContainer.Reply>, OffloadedContainer.Command> request) {
    return forContainer(name, request).thenApply(r -> {
      if (!r.ok()) {
        throw new GrpcServiceException(Status.FAILED_PRECONDITION.withDescription(r.message()));
      }
      return OpReply.newBuilder().setMessage(r.message()).build();
    });
  }

  private static GrpcServiceException status(Throwable failure) {
    Throwable c = io.github.dpucoordinator.common.Failures.unwrap(failure);
    if (c instanceof GrpcServiceException g) {
      return g;
    }
    if (c instanceof io.grpc.StatusRuntimeException s) {
      return new GrpcServiceException(s.getStatus());
    }
    if (c instanceof NpuContainerz.Unsupported u) {
      return new GrpcServiceException(Status.UNIMPLEMENTED.withDescription(u.getMessage()));
    }
    return new GrpcServiceException(Status.UNAVAILABLE.withDescription(NpuContainerz.describe(c)));
  }

  static ContainerState state(OffloadedContainer.View v) {
    ContainerBook b = v.book();
    ContainerState.Builder s = ContainerState.newBuilder().setName(v.name()).setHealth(v.health()).setDetail(v.detail())
        .setNpuStatus(v.seen().status()).setNpuImage(v.seen().image()).setRestarts(v.restartsInWindow()).setPhase(b.phase())
        .setTag(b.tag()).setPreviousTag(b.previousTag()).setOperatorStopped(b.operatorStopped()).setCrashLoopingSinceMs(b.crashLoopingSince())
        .addAllFailedVersions(b.failedVersions());
    if (b.defined()) {
      s.setImage(b.def().image()).setVersionPolicy(b.def().versionPolicy()).setHealthPort(b.def().healthPort());
    }
    return s.build();
  }
}
