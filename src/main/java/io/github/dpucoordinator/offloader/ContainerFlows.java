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
 * check, a start, a stop, an upgrade (and the rollback it falls back to) and a rollback. Each milestone is journaled through
 * {@code record} (the actor persists it) before the flow goes on; a flow ends in a {@link Result}.
 */
final class ContainerFlows {
  private static final Logger LOG = LoggerFactory.getLogger(ContainerFlows.class);

  /** A flow's end: a kind (as in {@link OffloadedContainerProtocol.SyncOutcome}) and a line. */
  record Result(String kind, String detail) {}

  /**
   * One check: {@code known} false (and {@code seen} null) when the NPU could not be asked; {@code npuAway} when that
   * was because it could not be reached (no connection, no answer in time), not a refusal.
   */
  record Health(boolean known, NpuContainerz.Seen seen, boolean healthy, String why, boolean npuAway) {
    Health(boolean known, NpuContainerz.Seen seen, boolean healthy, String why) {
      this(known, seen, healthy, why, false);
    }

    static Health unknown(Throwable failure) {
      return new Health(false, null, false, NpuContainerz.describe(failure), NpuContainerz.unreachable(failure));
    }
  }

  private final String tag;
  private final OffloaderSettings settings;
  private final NpuContainerz npu;
  private final Clock clock;
  private final Function<ContainerEvent, CompletionStage<Done>> record;
  private final java.util.function.Consumer<String> progress;
  private final java.util.function.Consumer<Health> checked;
  private final java.util.Random random = new java.util.Random();

  /**
   * {@code progress} hears where a flow is, in words, and {@code checked} the checks a flow makes (in its health wait,
   * and after a start or stop), so that the container's status shows what the NPU runs when the flow ends.
   */
  ContainerFlows(String tag, OffloaderSettings settings, NpuContainerz npu, Clock clock, Function<ContainerEvent, CompletionStage<Done>> record,
      java.util.function.Consumer<String> progress, java.util.function.Consumer<Health> checked) {
    this.tag = tag;
    this.settings = settings;
    this.npu = npu;
    this.clock = clock;
    this.record = record;
    this.progress = progress;
    this.checked = checked;
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

  /**
   * {@code def} started at {@code version} (its image made present first), then the event {@code started} makes
   * journaled, then checked.
   */
  CompletionStage<Done> start(ContainerDef def, String version, java.util.function.Supplier<ContainerEvent> started) {
    return launch(def, version).thenCompose(v -> record(started.get())).thenCompose(d -> checkAfter(def, version));
  }

  /** {@code def}'s container stopped (SIGTERM first), then checked at {@code version}, what it should run. */
  CompletionStage<Done> stop(ContainerDef def, String version) {
    return npu.stop(def.name(), false).thenCompose(v -> checkAfter(def, version));
  }

  /**
   * The check after a start or stop, heard by {@code checked}; given at most one {@code health.interval} (the monitor's
   * next check tells, if it takes longer), so it costs an operation's time budget at most that.
   */
  private CompletionStage<Done> checkAfter(ContainerDef def, String version) {
    Duration bound = settings.health().interval();
    return check(def, version).toCompletableFuture().completeOnTimeout(Health.unknown(new TimeoutException("no answer within "
        + bound.toMillis() + " ms")), bound.toMillis(), TimeUnit.MILLISECONDS).thenAccept(checked).thenApply(v -> Done.getInstance());
  }

  /** {@code def} started at {@code version}, its image made present first (nothing journaled). */
  private CompletionStage<String> launch(ContainerDef def, String version) {
    return npu.ensureImage(def.name(), def.image(), version).thenCompose(how -> npu.start(def, version));
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

  /** RUNNING on the NPU as {@code image:tag}, and its health port open if it has one; never failed (unknown instead). */
  CompletionStage<Health> check(ContainerDef def, String tag) {
    String want = def.image() + ":" + tag;
    return CompletableFuture.completedFuture(def.name()).thenCompose(npu::seen).thenCompose(seen -> {
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
    }).exceptionally(Health::unknown);
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
              .thenApply(r -> new Result(r.kind(), to + " failed (" + failure + "); " + r.detail()));
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

  /** Healthy without a break for {@code upgrade.min-healthy} before {@code upgrade.deadline}: see {@link Wait}. */
  private CompletionStage<Done> healthyFor(ContainerDef def, String version) {
    return new Wait(def, version).next();
  }

  /**
   * One upgrade's or rollback's wait for {@code version} to stay healthy, checked every {@code health.interval}. Time
   * the NPU cannot be reached does not count against the deadline (it says nothing about the version; its outage
   * longer than the whole deadline puts the operation off, to go on once it answers). Found not running (the NPU
   * restarted between two checks, say), the version is started again after the restart backoff, while the deadline
   * leaves time for it to stay healthy. Its steps run one after another, never two at once.
   */
  private final class Wait {
    private final ContainerDef def;
    private final String version;
    private long deadline;
    private long checkedAt;
    private long healthySince;
    private long awaySince;
    private Health last;
    private int restarts;

    Wait(ContainerDef def, String version) {
      this.def = def;
      this.version = version;
      this.deadline = now() + settings.upgrade().deadline().toMillis();
      this.checkedAt = now();
      progress.accept(def.image() + ":" + version + " runs; waiting for it to stay healthy for " + settings.upgrade().minHealthy().toSeconds()
          + " s, until " + java.time.Instant.ofEpochMilli(deadline) + " at the latest (dpu-coordinator.offloader.upgrade.deadline)");
    }

    CompletionStage<Done> next() {
      if (now() >= deadline) {
        return CompletableFuture.failedFuture(new IllegalStateException(notHealthy("last check: " + (last == null ? "none" : last.why()))));
      }
      return check(def, version).thenCompose(h -> {
        long at = now();
        long gap = at - checkedAt;
        checkedAt = at;
        last = h;
        checked.accept(h);
        if (!h.known() && h.npuAway()) {
          return away(h, at, gap);
        }
        if (awaySince > 0) {
          awaySince = 0;
          progress.accept("the NPU answers again; waiting for " + version + " to stay healthy until " + java.time.Instant.ofEpochMilli(deadline)
              + " at the latest (moved on by the time it was away)");
        }
        if (h.known() && !h.seen().running()) {
          return restart(h).thenCompose(v -> next());
        }
        healthySince = !h.healthy() ? 0 : healthySince == 0 ? at : healthySince;
        if (healthySince > 0 && at - healthySince >= settings.upgrade().minHealthy().toMillis()) {
          return CompletableFuture.completedFuture(Done.getInstance());
        }
        return after(settings.health().interval()).thenCompose(v -> next());
      });
    }

    /** The NPU did not answer a check: the time since the last one does not count; away longer than the deadline, put off. */
    private CompletionStage<Done> away(Health h, long at, long gap) {
      awaySince = awaySince == 0 ? at - gap : awaySince;
      deadline += gap;
      healthySince = 0;
      long away = at - awaySince;
      if (away >= settings.upgrade().deadline().toMillis()) {
        return CompletableFuture.failedFuture(new TimeoutException("the NPU has not answered for " + away / 1000 + " s, longer than "
            + "dpu-coordinator.offloader.upgrade.deadline (" + h.why() + ")"));
      }
      progress.accept("the NPU has not answered for " + away / 1000 + " s (" + h.why() + "); the wait for " + version
          + " goes on when it does, and that time does not count against dpu-coordinator.offloader.upgrade.deadline");
      return after(settings.health().interval()).thenCompose(v -> next());
    }

    /** Starts the version again after the restart backoff (journaled as a failure first), or fails when no time is left for it. */
    private CompletionStage<String> restart(Health h) {
      long delay = HealthMonitor.backoffMillis(settings.restart(), restarts, random);
      String why = h.why() + " while " + version + " was to stay healthy";
      if (now() + delay + settings.upgrade().minHealthy().toMillis() > deadline) {
        return CompletableFuture.failedFuture(new IllegalStateException(notHealthy(why + ", with no time left to start it again")));
      }
      restarts++;
      healthySince = 0;
      LOG.warn("{} {}; starting it again in {} ms (restart {} within the wait; the deadline holds)", tag(), why, delay, restarts);
      progress.accept(why + "; starting it again in " + delay + " ms (restart " + restarts + " within the wait)");
      return record(new ContainerEvent.Failed(why, delay, now())).thenCompose(d -> after(Duration.ofMillis(delay)))
          .thenCompose(v -> launch(def, version));
    }

    private String notHealthy(String detail) {
      return "not healthy for " + settings.upgrade().minHealthy().toSeconds() + " s within " + settings.upgrade().deadline().toSeconds()
          + " s (dpu-coordinator.offloader.upgrade.deadline); " + detail + (restarts == 0 ? "" : "; started again " + restarts
          + " time(s) in the wait");
    }
  }

  private static CompletionStage<Void> after(Duration d) {
    return CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(d.toMillis(), TimeUnit.MILLISECONDS));
  }
}
