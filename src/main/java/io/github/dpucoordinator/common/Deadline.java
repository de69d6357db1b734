package io.github.dpucoordinator.common;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A call bounded in time whose timeout says what did not answer within how long (not a bare TimeoutException). */
public final class Deadline {
  private Deadline() {}

  /** {@code call} bounded by {@code timeout}; its timer is cancelled as soon as the call completes. */
  public static <T> CompletableFuture<T> within(CompletionStage<T> call, Duration timeout, String what) {
    return call.toCompletableFuture().copy().orTimeout(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS)
        .handle((value, failure) -> {
          if (failure == null) {
            return value;
          }
          Throwable cause = Failures.unwrap(failure);
          if (cause instanceof TimeoutException && cause.getMessage() == null) {
            throw new CompletionException(new TimeoutException(what + ": no answer within " + seconds(timeout)));
          }
          throw failure instanceof CompletionException ce ? ce : new CompletionException(failure);
        });
  }

  /**
   * A timer for the time left until an absolute, journaled deadline (at once if it has passed): a restart re-arms it
   * for what is left, never for the whole wait again.
   */
  public static <T> void armAt(org.apache.pekko.actor.typed.javadsl.TimerScheduler<T> timers, java.time.Clock clock, Object key,
      T message, long deadlineMillis) {
    timers.startSingleTimer(key, message, Duration.ofMillis(Math.max(0, deadlineMillis - clock.millis())));
  }

  static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }
}
