package io.github.dpucoordinator.npu.containerz.process;

import io.github.dpucoordinator.npu.containerz.ContainerRuntime;
import io.github.dpucoordinator.npu.containerz.ContainerSpec;
import io.github.dpucoordinator.npu.containerz.UpdateCheck;
import io.github.dpucoordinator.npu.containerz.ContainerzSettings;
import io.github.dpucoordinator.npu.containerz.process.ProcessContainers.Answer;
import io.github.dpucoordinator.npu.containerz.process.ProcessContainers.Entry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded runtime: a container is the image's entrypoint run as a supervised child process in the image's
 * unpacked root ({@link Launcher}), one actor per container ({@link ProcessContainer}) under one that keeps them by name
 * ({@link ProcessContainers}). Closing it kills every container's processes (their parent-death signal follows the
 * launcher's thread); those whose restart policy says so start again when the runtime is opened again.
 */
public final class ProcessRuntime implements ContainerRuntime {
  private static final Logger log = LoggerFactory.getLogger(ProcessRuntime.class);
  private static final Duration ASK = Duration.ofMinutes(2);
  private static final Duration LOG_POLL = Duration.ofMillis(200);

  private final ActorSystem<?> system;
  private final ActorRef<ProcessContainers.Msg> containers;
  private final Launcher launcher;
  private final ContainerzSettings.Runtime settings;

  private ProcessRuntime(ActorSystem<?> system, ActorRef<ProcessContainers.Msg> containers, Launcher launcher, ContainerzSettings.Runtime settings) {
    this.system = system;
    this.containers = containers;
    this.launcher = launcher;
    this.settings = settings;
  }

  /** Opens the runtime on {@code root} (its records, unpacked roots and logs); the containers actor is spawned under {@code system}. */
  public static ProcessRuntime open(ActorSystem<?> system, Path root, ContainerzSettings.Runtime settings, Executor blocking) throws IOException {
    boolean asRoot = Launcher.runningAsRoot();
    Launcher launcher = new Launcher(asRoot, settings.defaultUser());
    ActorRef<ProcessContainers.Msg> containers = system.systemActorOf(ProcessContainers.create(root, settings, launcher, blocking),
        "containerz-" + Integer.toHexString(root.hashCode()), org.apache.pekko.actor.typed.Props.empty());
    log.info("[container=all dpu=none] process runtime on {} ({})", root, asRoot ? "as root: chroot, PID namespace per container"
        : "not as root: containers are not confined");
    return new ProcessRuntime(system, containers, launcher, settings);
  }

  private <T> CompletionStage<T> ask(Function<ActorRef<Answer>, ProcessContainers.Msg> make, Class<T> type) {
    return AskPattern.ask(containers, make::apply, ASK, system.scheduler()).thenApply(a -> {
      if (a.error() != null) {
        throw new CompletionException(a.error());
      }
      return type.cast(a.value());
    });
  }

  @Override
  public CompletionStage<String> start(ContainerSpec spec, Path tarball) {
    return ask(r -> new ProcessContainers.Create(spec, tarball, r), String.class);
  }

  @Override
  public CompletionStage<String> startAgain(String name) {
    return ask(r -> new ProcessContainers.StartAgain(name, r), String.class);
  }

  @Override
  public CompletionStage<String> stop(String name, boolean force) {
    return ask(r -> new ProcessContainers.Stop(name, force, r), String.class);
  }

  @Override
  public CompletionStage<String> remove(String name, boolean force) {
    return ask(r -> new ProcessContainers.Remove(name, force, r), String.class);
  }

  @Override
  public CompletionStage<List<Container>> list() {
    return ask(ProcessContainers.ListAll::new, List.class).thenApply(all -> ((List<?>) all).stream()
        .map(ProcessContainer.Info.class::cast)
        .map(i -> new Container(i.record().id(), i.record().spec().name(), i.record().spec().image(), i.running(), i.record().spec().labels()))
        .toList());
  }

  private CompletionStage<Boolean> running(String name) {
    return list().thenApply(all -> all.stream().anyMatch(c -> c.name().equals(name) && c.running()));
  }

  @Override
  public CompletionStage<String> update(String name, ContainerSpec next, Path tarball) {
    return ask(r -> new ProcessContainers.Park(name, r), ContainerSpec.class).thenCompose(previous ->
        UpdateCheck.verdict(start(next, tarball), settings.startCheck(), () -> running(name)).thenCompose(failed -> {
          if (failed == null) {
            log.info("[container={} dpu={}] updated from {} to {}", name, next.dpu(), previous.image(), next.image());
            return ask(r -> new ProcessContainers.Unpark(name, false, r), String.class);
          }
          log.warn("[container={} dpu={}] update to {} failed: {}; restoring {}", name, next.dpu(), next.image(), failed, previous.image());
          return ask(r -> new ProcessContainers.Unpark(name, true, r), String.class).handle((restored, f) -> {
            throw new CompletionException(UpdateCheck.failed(name, next.image(), failed, previous.image().toString(), f));
          });
        }));
  }

  @Override
  public CompletionStage<Source<String, NotUsed>> log(String name, boolean follow) {
    return ask(r -> new ProcessContainers.LogOf(name, r), Entry.class).thenApply(e -> LogTail.of(e.log(), follow,
        () -> AskPattern.ask(e.actor(), ProcessContainer.GetInfo::new, Duration.ofSeconds(5), system.scheduler())
            .thenApply(ProcessContainer.Info::running).exceptionally(gone -> false), LOG_POLL));
  }

  @Override
  public void close() {
    containers.tell(ProcessContainers.Close.INSTANCE);
    launcher.close();
  }

}
