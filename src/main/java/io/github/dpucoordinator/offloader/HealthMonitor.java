package io.github.dpucoordinator.offloader;

import java.util.Random;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the health checks of one offloaded container have shown (used on its actor's thread only): the last answer of
 * the NPU, healthy since when, failed checks in a row; and what a check means: nothing, a reset of the restart count
 * (healthy long enough), or a failure (not running, or the health port refused {@code failure-threshold} times).
 */
final class HealthMonitor {
  private static final Logger LOG = LoggerFactory.getLogger(HealthMonitor.class);

  /** {@code kind}: none, reset or failed (then {@code why}). */
  record Verdict(String kind, String why) {
    static final Verdict NONE = new Verdict("none", "");
  }

  private final String tag;
  private final OffloaderSettings settings;
  private final Random random = new Random();
  private int failuresInARow;
  private long healthySinceMs;
  private NpuContainerz.Seen lastSeen = new NpuContainerz.Seen("UNKNOWN", "");
  private String health = "unknown";
  private String detail = "not checked yet";

  HealthMonitor(String tag, OffloaderSettings settings) {
    this.tag = tag;
    this.settings = settings;
  }

  /** What {@code status} shows of the container named {@code name}; {@code busy}: the operation running now, if any. */
  OffloadedContainerProtocol.View view(String name, ContainerBook b, boolean paused, String busy, long now) {
    return new OffloadedContainerProtocol.View(name, b, health(b, paused), detail(b, busy), lastSeen,
        b.restartsWithin(settings.restart().window().toMillis(), now));
  }

  /** Whether a failed check of {@code b} is acted on: it runs at a version, steady, and nobody stopped it. */
  static boolean actsOn(ContainerBook b) {
    return b.defined() && !b.operatorStopped() && !b.haltStopped() && b.crashLoopingSince() == 0 && !b.tag().isEmpty()
        && b.phase().equals(ContainerBook.STEADY);
  }

  /** The health {@code status} shows: what the book says first (crash-looping, stopped, an upgrade), then the last check. */
  private String health(ContainerBook b, boolean paused) {
    return !b.defined() ? "unknown" : b.crashLoopingSince() > 0 ? "crash-looping" : b.operatorStopped() ? "stopped"
        : b.haltStopped() ? "stopped-for-halt" : b.phase().equals(ContainerBook.UPGRADING) ? "upgrading"
        : b.phase().equals(ContainerBook.ROLLING_BACK) ? "rolling-back" : paused ? "paused" : health;
  }

  /** Why, in words; {@code busy}: the operation running now, if any. */
  private String detail(ContainerBook b, String busy) {
    return b.crashLoopingSince() > 0 ? "crash-looping since " + java.time.Instant.ofEpochMilli(b.crashLoopingSince())
        + ": not restarted until an operator starts it" : busy != null ? busy + "; " + detail : detail;
  }

  /** Where the operation running now is, shown until the next line or check. */
  void note(String line) {
    detail = line;
  }

  /** An operation ended (its line shown until the next check), {@code failed} or not; the counting starts over. */
  void operationEnded(String line, boolean failed) {
    failuresInARow = 0;
    healthySinceMs = 0;
    if (failed) { // what its checks saw is not how it ended
      health = "failed";
    }
    detail = line;
  }

  /** {@code h} seen by an operation's own check (a health wait's, or after a start or stop): shown, without a verdict. */
  void seenByOperation(ContainerFlows.Health h) {
    if (h.known()) {
      lastSeen = h.seen();
      health = h.healthy() ? "healthy" : "unhealthy";
    }
  }

  /** {@code h} seen for {@code b}; {@code acting} false: only noted (stopped, crash-looping, paused, busy). */
  Verdict observe(ContainerFlows.Health h, ContainerBook b, boolean acting, long now) {
    detail = h.why();
    if (h.known()) {
      lastSeen = h.seen();
    }
    if (!acting) {
      return Verdict.NONE;
    }
    if (!h.known()) {
      health = "unknown";
      return Verdict.NONE; // an NPU that cannot be reached is not a crash of the container
    }
    if (h.healthy()) {
      failuresInARow = 0;
      health = "healthy";
      healthySinceMs = healthySinceMs == 0 ? now : healthySinceMs;
      return !b.restartTimes().isEmpty() && now - healthySinceMs >= settings.restart().resetAfter().toMillis() ? new Verdict("reset", "")
          : Verdict.NONE;
    }
    healthySinceMs = 0;
    if (h.seen().running() && h.seen().image().equals(b.def().image() + ":" + b.tag())) { // running but failing its port check
      failuresInARow++;
      health = "unhealthy";
      if (failuresInARow < settings.health().failureThreshold()) {
        LOG.info("{} health check failed ({} of {} in a row): {}", tag, failuresInARow, settings.health().failureThreshold(), h.why());
        return Verdict.NONE;
      }
      return failed(h.why() + ", " + failuresInARow + " checks in a row");
    }
    return failed(h.why());
  }

  private Verdict failed(String why) {
    failuresInARow = 0;
    health = "failed";
    return new Verdict("failed", why);
  }

  void crashLooping() {
    health = "crash-looping";
  }

  /** The wait before restart {@code n + 1} of the window: doubling from the initial delay, capped, spread by the jitter. */
  long backoffMillis(int n) {
    return backoffMillis(settings.restart(), n, random);
  }

  /** The same for any caller: the wait before restart {@code n + 1} under {@code r}, spread with {@code random}. */
  static long backoffMillis(OffloaderSettings.Restart r, int n, Random random) {
    long base = Math.min(r.maxDelay().toMillis(), r.initialDelay().toMillis() << Math.min(n, 30));
    return Math.max(1, Math.round(base * (1 + r.jitter() * (2 * random.nextDouble() - 1))));
  }
}
