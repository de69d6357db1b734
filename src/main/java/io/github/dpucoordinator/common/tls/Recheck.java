package io.github.dpucoordinator.common.tls;

import java.time.Duration;

/** When a watched file is next worth looking at: no more often than every {@code tls.recheck}. */
final class Recheck {
  private final long everyNanos;
  private volatile long lastNanos = System.nanoTime();

  Recheck(Duration every) {
    this.everyNanos = every.toNanos();
  }

  /** Whether it is time to look again (and if so, the next look is counted from now). */
  boolean due() {
    long now = System.nanoTime();
    if (now - lastNanos < everyNanos) {
      return false;
    }
    lastNanos = now;
    return true;
  }
}
