package io.github.dpucoordinator.offloader;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Containerz work of one offloaded container, as asynchronous flows that run off its actor's thread: a health
 * check, a start, an upgrade (and the rollback it falls back to) and a rollback. Each milestone is journaled through
 * {@code record} (the actor persists it) before the flow goes on; a flow ends in a {@link Result}.
 */
final class ContainerFlows {
  private static final Logger LOG = LoggerFactory.getLogger(ContainerFlows.class);

  /** A flow's end: a kind (as in {@link OffloadedContainerProtocol.SyncOutcome}) and a line. */
  record Result(String kind, String detail) {}

  /** One check: {@code known} false (and {@code seen} null) when the NPU could not be asked. */
  record Health(boolean known, NpuContainerz.Seen seen, boolean healthy, String why) {}

  private final String tag;
  private final OffloaderSettings settings;
  private final NpuContainerz npu;
  private final Clock clock;
  private final Function<ContainerEvent, CompletionStage<Done>> record;
  private final java.util.function.Consumer<String> progress;

  /** {@code progress} hears where a flow is, in words, for the container's status. */
  ContainerFlows(String tag, OffloaderSettings settings, NpuContainerz npu, Clock clock, Function<ContainerEvent, CompletionStage<Done>> record,
      java.util.function.Consumer<String> progress) {
    this.tag = tag;
    this.settings = settings;
    this.npu = npu;
    this.clock = clock;
    this.record = record;
    this.progress = progress;
  }

  private String tag() {
    return tag;
  }

  private long now() {
    return clock.millis();
  }

  private CompletionStage<Done> record(ContainerEvent e) {
    return record.apply(e);
  }

  /** {@code def} started at {@code version} (its image made present first), then the event {@code started} makes journaled. */
  CompletionStage<Done> start(ContainerDef def, String version, java.util.function.Supplier<ContainerEvent> started) {
    return npu.ensureImage(def.name(), def.image(), version).thenCompose(how -> npu.start(def, version)).thenCompose(v -> record(started.get()));
  }

  /**
   * Seed 7.1 for one container: left alone when an operator stopped it; RUNNING at its recorded version (or, never
   * started, the one {@code dpuVersion} asks for), else started there, its image deployed first if need be.
   */
  CompletionStage<Result> ensure(ContainerBook b, String dpuVersion) {
    ContainerDef def = b.def();
    if (b.operatorStopped()) {
      return npu.seen(def.name()).handle((seen, f) -> new Result("skipped", "stopped by an operator, left stopped (NPU: "
          + (seen != null ? seen.status() : "not reached") + ")"));
    }
    String version = b.tag().isEmpty() ? def.tagFor(dpuVersion) : b.tag();
    String versionNote = version.equals(def.tagFor(dpuVersion)) ? "" : " (the DPU's version asks for " + def.tagFor(dpuVersion)
        + ": the version sync follows)";
    String want = def.image() + ":" + version;
    return npu.seen(def.name()).thenCompose(seen -> {
      if (seen.running() && seen.image().equals(want)) {
        return CompletableFuture.completedFuture(new Result("current", "RUNNING " + want + ", as recorded" + versionNote));
      }
      String was = seen.status() + (seen.image().isEmpty() ? "" : " " + seen.image());
      return start(def, version, () -> new ContainerEvent.Started(version, "initialization: it was " + was, now()))
          .thenApply(v -> new Result("started", "started " + want + " (it was " + was + ")" + versionNote));
    });
  }

  /** The first start of a container defined after the initialization (by a deploy), at {@code version}; put off if the NPU is away. */
  CompletionStage<Result> firstStart(ContainerDef def, String version) {
    return start(def, version, () -> new ContainerEvent.Started(version, "first start, by the version sync", now()))
        .thenApply(v -> new Result("started", def.image() + ":" + version))
        .exceptionally(e -> new Result(NpuContainerz.unreachable(e) ? "deferred" : "failed", NpuContainerz.describe(e)));
  }

  /** RUNNING on the NPU as {@code image:tag}, and its health port open if it has one. */
  CompletionStage<Health> check(ContainerDef def, String tag) {
    String want = def.image() + ":" + tag;
    return npu.seen(def.name()).thenCompose(seen -> {
      if (!seen.running()) {
        return CompletableFuture.completedFuture(new Health(true, seen, false, "not running on the NPU (" + seen.status() + ")"));
      }
      if (!seen.image().equals(want)) {
        return CompletableFuture.completedFuture(new Health(true, seen, false, "runs " + seen.image() + ", not " + want));
      }
      if (def.healthPort() == 0) {
        return CompletableFuture.completedFuture(new Health(true, seen, true, "RUNNING " + seen.image()));
      }
      return npu.portOpen(def.healthPort()).thenApply(open -> new Health(true, seen, open, open ? "RUNNING " + seen.image() + ", port "
          + def.healthPort() + " answers" : "RUNNING " + seen.image() + " but port " + def.healthPort() + " refuses connections"));
    }).exceptionally(e -> new Health(false, null, false, NpuContainerz.describe(e)));
  }

  /**
   * From {@code from} to {@code to}: the image made present, the container replaced, then healthy for
   * {@code upgrade.min-healthy} within {@code upgrade.deadline}, else rolled back. {@code why} null: resuming one found
   * half done (its start is journaled already).
   */
  CompletionStage<Result> upgrade(ContainerDef def, String from, String to, String why) {
    CompletionStage<Done> started = why == null ? CompletableFuture.completedFuture(Done.getInstance())
        : record(new ContainerEvent.UpgradeStarted(from, to, why, now()));
    return started.thenCompose(v -> {
      if (why != null) {
        LOG.info("{} upgrading {} -> {}", tag(), from, to);
      } else { // resumed: tried again every health interval while the NPU is away
        LOG.debug("{} going on with the upgrade {} -> {}", tag(), from, to);
      }
      return npu.ensureImage(def.name(), def.image(), to);
    }).thenCompose(v -> npu.seen(def.name())).thenCompose(seen -> seen.running() && seen.image().equals(def.image() + ":" + to)
        ? CompletableFuture.completedFuture("already running") : npu.replace(def, to))
        .thenCompose(how -> healthyFor(def, to))
        .thenCompose(v -> record(new ContainerEvent.Upgraded(from, to, now())).thenApply(d -> new Result("upgraded", def.image() + ":" + from
            + " -> " + to + ", healthy for " + settings.upgrade().minHealthy().toSeconds() + " s")))
        .exceptionallyCompose(e -> {
          String failure = NpuContainerz.describe(e);
          if (NpuContainerz.unreachable(e)) { // not the new version's fault: it goes on when the NPU answers
            return CompletableFuture.completedFuture(new Result("deferred", "upgrade to " + to + " put off: " + failure));
          }
          LOG.error("{} upgrade {} -> {} failed: {}; rolling back to {}", tag(), from, to, failure, from);
          return record(new ContainerEvent.UpgradeFailed(to, from, failure, now())).thenCompose(d -> rollback(def, to, from))
              .thenApply(r -> r.kind().equals("rolled-back") ? new Result("rolled-back", to + " failed (" + failure + "); " + r.detail())
                  : new Result("failed", to + " failed (" + failure + "); " + r.detail()));
        });
  }

  /** Back from {@code failed} to {@code back}: its image made present again, the container replaced if need be, checked. */
  CompletionStage<Result> rollback(ContainerDef def, String failed, String back) {
    return npu.ensureImage(def.name(), def.image(), back).thenCompose(how -> npu.seen(def.name()))
        .thenCompose(seen -> seen.running() && seen.image().equals(def.image() + ":" + back) ? CompletableFuture.completedFuture("it runs already")
            : npu.replace(def, back))
        .thenCompose(how -> healthyFor(def, back))
        .thenCompose(v -> record(new ContainerEvent.RolledBack(back, now())).thenApply(d -> {
          LOG.warn("{} rolled back from {} to {}: healthy again; {} is not tried again until the DPU's version changes", tag(), failed,
              back, failed);
          return new Result("rolled-back", "rolled back to " + def.image() + ":" + back + ", healthy");
        }))
        .exceptionallyCompose(e -> {
          String failure = NpuContainerz.describe(e);
          if (NpuContainerz.unreachable(e)) {
            return CompletableFuture.completedFuture(new Result("deferred", "rollback to " + back + " put off: " + failure));
          }
          LOG.error("{} rollback from {} to {} failed: {}; the monitor restarts it", tag(), failed, back, failure);
          return record(new ContainerEvent.RollbackFailed(back, failure, now())).thenApply(d -> new Result("failed", "the rollback to " + back
              + " failed too: " + failure));
        });
  }

  /**
   * Healthy without a break for {@code upgrade.min-healthy}, checked every {@code health.interval}, before
   * {@code upgrade.deadline}. Found not running, it is started again after the restart backoff (the NPU may have
   * restarted between two checks and left it stopped), and the deadline still holds. An NPU that does not answer a
   * check ends the wait as put off: what it stopped while it was away says nothing against the version, and the
   * upgrade or rollback goes on when it answers, the container started again if need be, with a deadline of its own.
   */
  private CompletionStage<Done> healthyFor(ContainerDef def, String version) {
    long deadline = now() + settings.upgrade().deadline().toMillis();
    progress.accept(def.image() + ":" + version + " runs; waiting for it to stay healthy for " + settings.upgrade().minHealthy().toSeconds()
        + " s, until " + java.time.Instant.ofEpochMilli(deadline) + " at the latest (dpu-coordinator.offloader.upgrade.deadline)");
    return healthyFrom(def, version, deadline, 0, null, 0);
  }

  private CompletionStage<Done> healthyFrom(ContainerDef def, String version, long deadline, long since, Health last, int restarts) {
    if (now() >= deadline) {
      return CompletableFuture.failedFuture(new IllegalStateException("not healthy for " + settings.upgrade().minHealthy().toSeconds()
          + " s within " + settings.upgrade().deadline().toSeconds() + " s (dpu-coordinator.offloader.upgrade.deadline); last check: "
          + (last == null ? "none" : last.why()) + (restarts == 0 ? "" : "; started again " + restarts + " time(s) meanwhile")));
    }
    return check(def, version).thenCompose(h -> {
      if (!h.known()) {
        return CompletableFuture.failedFuture(new TimeoutException("the NPU stopped answering while " + def.image() + ":" + version
            + " was to stay healthy (" + h.why() + ")"));
      }
      if (!h.seen().running()) {
        return restartWithin(def, version, h, restarts).thenCompose(v -> healthyFrom(def, version, deadline, 0, h, restarts + 1));
      }
      long start = h.healthy() ? (since == 0 ? now() : since) : 0;
      if (start > 0 && now() - start >= settings.upgrade().minHealthy().toMillis()) {
        return CompletableFuture.completedFuture(Done.getInstance());
      }
      return after(settings.health().interval()).thenCompose(v -> healthyFrom(def, version, deadline, start, h, restarts));
    });
  }

  /** Starts {@code version} again within an upgrade's or rollback's wait, after the restart backoff; journaled as a failure first. */
  private CompletionStage<String> restartWithin(ContainerDef def, String version, Health h, int restarts) {
    var r = settings.restart();
    long delay = Math.min(r.maxDelay().toMillis(), r.initialDelay().toMillis() << Math.min(restarts, 30));
    String why = h.why() + " while " + version + " was to stay healthy";
    LOG.warn("{} {}; starting it again in {} ms (the deadline still holds)", tag(), why, delay);
    progress.accept(why + "; starting it again in " + delay + " ms (restart " + (restarts + 1) + " within the wait)");
    return record(new ContainerEvent.Failed(why, delay, now())).thenCompose(d -> after(Duration.ofMillis(delay)))
        .thenCompose(v -> npu.ensureImage(def.name(), def.image(), version)).thenCompose(how -> npu.start(def, version));
  }

  private static CompletionStage<Void> after(Duration d) {
    return CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(d.toMillis(), TimeUnit.MILLISECONDS));
  }
}
