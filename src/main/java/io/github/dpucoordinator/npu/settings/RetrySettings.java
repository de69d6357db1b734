package io.github.dpucoordinator.npu.settings;

import com.typesafe.config.Config;
import java.time.Duration;

/** Retries of the reboot signal: attempts in all, exponential backoff between them, with jitter. */
public record RetrySettings(Duration rpcTimeout, int maxAttempts, Duration backoffMin, Duration backoffMax, double factor, double jitter) {
  /** The pause after failed attempt {@code attempt} (1-based), before jitter. */
  public Duration backoff(int attempt) {
    double millis = backoffMin.toMillis() * Math.pow(factor, Math.max(0, attempt - 1));
    return Duration.ofMillis((long) Math.min(millis, backoffMax.toMillis()));
  }

  /** Reads a {@code signal} section: rpc-timeout, max-attempts, backoff-min/max/factor, jitter. */
  public static RetrySettings from(Config s) {
    return new RetrySettings(s.getDuration("rpc-timeout"), s.getInt("max-attempts"), s.getDuration("backoff-min"),
        s.getDuration("backoff-max"), s.getDouble("backoff-factor"), s.getDouble("jitter"));
  }

  /** Every attempt timing out, with the longest (jittered) pause after each but the last. */
  public Duration budget() {
    long total = maxAttempts * rpcTimeout.toMillis();
    for (int attempt = 1; attempt < maxAttempts; attempt++) {
      total += Math.round(backoff(attempt).toMillis() * (1 + jitter));
    }
    return Duration.ofMillis(total);
  }

  /** {@link #backoff} spread by +/- jitter, with {@code random} in [0, 1). */
  public Duration backoff(int attempt, double random) {
    long base = backoff(attempt).toMillis();
    return Duration.ofMillis(Math.max(0, Math.round(base * (1 + jitter * (2 * random - 1)))));
  }
}
