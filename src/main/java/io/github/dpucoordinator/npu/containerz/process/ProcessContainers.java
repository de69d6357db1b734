package io.github.dpucoordinator.npu.containerz.process;

import io.github.dpucoordinator.npu.containerz.ContainerSpec;
import io.github.dpucoordinator.npu.containerz.ContainerzError;
import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import io.github.dpucoordinator.npu.containerz.ContainerzSettings;
import io.github.dpucoordinator.npu.containerz.process.ProcessContainer.Info;
import io.github.dpucoordinator.npu.containerz.process.ProcessContainer.Result;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The process runtime's containers, by instance name: one {@link ProcessContainer} each, and their records under
 * {@code <root>/<id>/} (record, unpacked root, log). Requests about one name are taken one at a time here, so two of
 * them cannot both make, start or remove it. At its start it reads the records, ends any process a killed service left
 * behind, and starts again what its restart policy says to. An update parks the running version (stopped, kept) while
 * the new one starts under the same name, then drops it or brings it back.
 */
final class ProcessContainers extends AbstractBehavior<ProcessContainers.Msg> {
  interface Msg {}

  /** The answer to every request: a value, or why not. */
  record Answer(Object value, ContainerzError error) {
    static Answer ok(Object value) {
      return new Answer(value, null);
    }

    static Answer no(Code code, String why) {
      return new Answer(null, new ContainerzError(code, why));
    }
  }

  record Create(ContainerSpec spec, Path tarball, ActorRef<Answer> replyTo) implements Msg {}

  record StartAgain(String name, ActorRef<Answer> replyTo) implements Msg {}

  record Stop(String name, boolean force, ActorRef<Answer> replyTo) implements Msg {}

  record Remove(String name, boolean force, ActorRef<Answer> replyTo) implements Msg {}

  record ListAll(ActorRef<Answer> replyTo) implements Msg {}

  /** The container's log and whether it still runs (for Log). */
  record LogOf(String name, ActorRef<Answer> replyTo) implements Msg {}

  /** Stop {@code name} and keep it aside for an update; answered with its spec. */
  record Park(String name, ActorRef<Answer> replyTo) implements Msg {}

  /** The update is over: drop the parked version ({@code keep} false), or remove the new one and start the parked one again. */
  record Unpark(String name, boolean restore, ActorRef<Answer> replyTo) implements Msg {}

  /** Stop keeping containers (the runtime closes; its launcher takes the processes down). */
  enum Close implements Msg { INSTANCE }

  private record Discarded(Entry entry) implements Msg {}

  private record Made(Create request, Entry entry, Throwable failure) implements Msg {}

  private record Gone(String name, Entry entry, ActorRef<Answer> replyTo, Answer answer) implements Msg {}

  record Entry(ContainerRecord record, Path dir, ActorRef<ProcessContainer.Msg> actor, BoundedLog log) {}

  private static final Duration ASK = Duration.ofMinutes(1);

  private final Path root;
  private final ContainerzSettings.Runtime settings;
  private final Launcher launcher;
  private final Executor blocking;
  private final Map<String, Entry> byName = new HashMap<>();
  private final Map<String, Entry> parked = new HashMap<>();
  private final java.util.Set<String> busy = new java.util.HashSet<>();

  static Behavior<Msg> create(Path root, ContainerzSettings.Runtime settings, Launcher launcher, Executor blocking) {
    return Behaviors.setup(ctx -> new ProcessContainers(ctx, root, settings, launcher, blocking));
  }

  private ProcessContainers(ActorContext<Msg> ctx, Path root, ContainerzSettings.Runtime settings, Launcher launcher, Executor blocking)
      throws IOException {
    super(ctx);
    this.root = root;
    this.settings = settings;
    this.launcher = launcher;
    this.blocking = blocking;
    for (RecordsAtStart.Found f : RecordsAtStart.read(root, ctx.getLog()).values()) {
      ContainerRecord r = f.record();
      boolean start = r.spec().restart().atServiceStart(r.stoppedByUser());
      byName.put(r.spec().name(), spawn(r, f.dir(), start));
      ctx.getLog().info("[container={} dpu={}] recovered ({}); restart policy {}{}", r.spec().name(), r.spec().dpu(), r.spec().image(),
          r.spec().restart().policy(), start ? ": started again" : "");
    }
  }

  private Entry spawn(ContainerRecord r, Path dir, boolean start) {
    BoundedLog log = new BoundedLog(dir, settings.logMax());
    Path rootFs = dir.resolve("rootfs");
    ProcessContainer.Run run;
    try {
      run = new ProcessContainer.Run(launcher.command(r.spec(), r.image(), rootFs), Launcher.env(r.spec(), r.image()),
          launcher.workDir(rootFs, r.image()), log, dir, settings);
    } catch (ContainerzError e) { // a record this runtime cannot run (made under another user): kept, listed, never started
      run = new ProcessContainer.Run(List.of(), Map.of(), dir, log, dir, settings);
      log.note("[containerz] cannot run: " + e.getMessage());
      start = false;
    }
    ActorRef<ProcessContainer.Msg> actor = getContext().spawnAnonymous(ProcessContainer.create(r, run, launcher, start));
    return new Entry(r, dir, actor, log);
  }

  @Override
  public Receive<Msg> createReceive() {
    return newReceiveBuilder()
        .onMessage(Create.class, this::onCreate)
        .onMessage(Made.class, this::onMade)
        .onMessage(StartAgain.class, m -> withEntry(m.name(), m.replyTo(), e -> forward(e, ProcessContainer.Start::new, m.replyTo(), m.name())))
        .onMessage(Stop.class, m -> withEntry(m.name(), m.replyTo(), e -> forward(e, r -> new ProcessContainer.Stop(m.force(), false, r),
            m.replyTo(), m.name())))
        .onMessage(Remove.class, this::onRemove)
        .onMessage(Gone.class, this::onGone)
        .onMessage(ListAll.class, this::onList)
        .onMessage(LogOf.class, m -> withEntry(m.name(), m.replyTo(), e -> m.replyTo().tell(Answer.ok(e))))
        .onMessage(Park.class, this::onPark)
        .onMessage(Unpark.class, this::onUnpark)
        .onMessage(Discarded.class, d -> stopChild(d.entry()))
        .onMessage(Close.class, c -> Behaviors.stopped())
        .build();
  }

  private Behavior<Msg> stopChild(Entry e) {
    getContext().stop(e.actor());
    return this;
  }

  private Behavior<Msg> withEntry(String name, ActorRef<Answer> replyTo, java.util.function.Consumer<Entry> then) {
    Entry e = byName.get(name);
    if (e == null) {
      replyTo.tell(Answer.no(Code.NOT_FOUND, "no container instance " + name));
    } else if (busy.contains(name)) {
      replyTo.tell(Answer.no(Code.UNAVAILABLE, "the container " + name + " is busy (being made, updated or removed); try again"));
    } else {
      then.accept(e);
    }
    return this;
  }

  private void forward(Entry e, java.util.function.Function<ActorRef<Result>, ProcessContainer.Msg> make, ActorRef<Answer> replyTo, String name) {
    CompletionStage<Result> r = AskPattern.ask(e.actor(), make::apply, ASK, getContext().getSystem().scheduler());
    r.whenComplete((result, failure) -> replyTo.tell(failure != null ? Answer.no(Code.INTERNAL, name + ": " + failure.getMessage())
        : result.failure() == null ? Answer.ok(name) : Answer.no(Code.INTERNAL, name + ": " + result.failure())));
  }

  private Behavior<Msg> onCreate(Create c) {
    String name = c.spec().name();
    if (byName.containsKey(name) || busy.contains(name)) {
      c.replyTo().tell(Answer.no(Code.ALREADY_EXISTS, "a container instance named " + name + " exists"));
      return this;
    }
    busy.add(name);
    String id = ContainerRecord.newId();
    Path dir = root.resolve(id);
    getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> {
      try {
        RootFs.ImageConfig image = RootFs.unpack(c.tarball(), dir.resolve("rootfs"));
        launcher.equip(dir.resolve("rootfs"));
        ContainerRecord r = new ContainerRecord(id, c.spec(), image, System.currentTimeMillis(), false, 0, 0);
        launcher.command(r.spec(), image, dir.resolve("rootfs")); // refused now rather than at its first start
        r.write(dir);
        return r;
      } catch (Exception e) {
        RootFs.deleteQuietly(dir);
        throw new java.util.concurrent.CompletionException(e);
      }
    }, blocking), (r, failure) -> new Made(c, failure == null ? new Entry(r, dir, null, null) : null, failure));
    return this;
  }

  private Behavior<Msg> onMade(Made m) {
    String name = m.request().spec().name();
    busy.remove(name);
    if (m.failure() != null) {
      Throwable cause = m.failure().getCause() != null ? m.failure().getCause() : m.failure();
      m.request().replyTo().tell(cause instanceof ContainerzError z ? new Answer(null, z)
          : Answer.no(Code.INTERNAL, "cannot make the container " + name + ": " + cause.getMessage()));
      return this;
    }
    Entry e = spawn(m.entry().record(), m.entry().dir(), false);
    byName.put(name, e);
    getContext().getLog().info("[container={} dpu={}] made from {} in {}", name, e.record().spec().dpu(), e.record().spec().image(), e.dir());
    forward(e, ProcessContainer.Start::new, m.request().replyTo(), name);
    return this;
  }

  private Behavior<Msg> onRemove(Remove m) {
    return withEntry(m.name(), m.replyTo(), e -> {
      busy.add(m.name());
      CompletionStage<Info> info = AskPattern.ask(e.actor(), ProcessContainer.GetInfo::new, ASK, getContext().getSystem().scheduler());
      info.thenCompose(i -> {
        if (i.running() && !m.force()) {
          return CompletableFuture.completedFuture(Answer.no(Code.FAILED_PRECONDITION, "the container " + m.name()
              + " is running: stop it first, or remove it with force"));
        }
        return AskPattern.<ProcessContainer.Msg, Result>ask(e.actor(), r -> new ProcessContainer.Stop(true, true, r), ASK,
            getContext().getSystem().scheduler()).thenApplyAsync(r -> {
              RootFs.deleteQuietly(e.dir());
              return Answer.ok(m.name());
            }, blocking);
      }).whenComplete((a, failure) -> getContext().getSelf().tell(new Gone(m.name(), e, m.replyTo(),
          failure != null ? Answer.no(Code.INTERNAL, failure.getMessage()) : a)));
    });
  }

  private Behavior<Msg> onGone(Gone g) {
    busy.remove(g.name());
    if (g.answer().error() == null) {
      byName.remove(g.name(), g.entry());
      getContext().stop(g.entry().actor());
      getContext().getLog().info("[container={} dpu={}] removed", g.name(), g.entry().record().spec().dpu());
    }
    g.replyTo().tell(g.answer());
    return this;
  }

  private Behavior<Msg> onList(ListAll m) {
    List<CompletableFuture<Info>> infos = new ArrayList<>();
    for (Entry e : byName.values()) {
      infos.add(AskPattern.ask(e.actor(), ProcessContainer.GetInfo::new, ASK, getContext().getSystem().scheduler()).toCompletableFuture());
    }
    CompletableFuture.allOf(infos.toArray(CompletableFuture[]::new))
        .whenComplete((ok, failure) -> m.replyTo().tell(failure != null ? Answer.no(Code.INTERNAL, failure.getMessage())
            : Answer.ok(infos.stream().map(CompletableFuture::join).toList())));
    return this;
  }

  private Behavior<Msg> onPark(Park m) {
    return withEntry(m.name(), m.replyTo(), e -> {
      if (parked.containsKey(m.name())) {
        m.replyTo().tell(Answer.no(Code.UNAVAILABLE, "the container " + m.name() + " is being updated already"));
        return;
      }
      byName.remove(m.name());
      parked.put(m.name(), e);
      AskPattern.<ProcessContainer.Msg, Result>ask(e.actor(), r -> new ProcessContainer.Stop(false, true, r), ASK,
          getContext().getSystem().scheduler()).whenComplete((r, failure) -> m.replyTo().tell(Answer.ok(e.record().spec())));
    });
  }

  private Behavior<Msg> onUnpark(Unpark m) {
    Entry old = parked.remove(m.name());
    if (old == null) {
      m.replyTo().tell(Answer.no(Code.NOT_FOUND, "no update of " + m.name() + " in progress"));
      return this;
    }
    if (!m.restore()) {
      discard(old).whenComplete((ok, f) -> m.replyTo().tell(Answer.ok(m.name())));
      return this;
    }
    Entry failed = byName.remove(m.name());
    if (failed != null) {
      discard(failed);
    }
    byName.put(m.name(), old);
    forward(old, ProcessContainer.Start::new, m.replyTo(), m.name());
    return this;
  }

  /** Ends a version that is no longer wanted: its process killed, its directory deleted, then its actor stopped. */
  private CompletionStage<Void> discard(Entry e) {
    ActorRef<Msg> self = getContext().getSelf();
    return AskPattern.<ProcessContainer.Msg, Result>ask(e.actor(), r -> new ProcessContainer.Stop(true, true, r), ASK,
        getContext().getSystem().scheduler()).thenAcceptAsync(r -> RootFs.deleteQuietly(e.dir()), blocking)
        .whenComplete((ok, f) -> self.tell(new Discarded(e)));
  }


}
