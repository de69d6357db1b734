package io.github.dpucoordinator.common;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A call bounded in time whose timeout says what did not answer within how long (not a bare TimeoutException). */
public final class Deadline {
  private Deadline() {}

  public static <T> CompletableFuture<T> within(CompletionStage<T> call, Duration timeout, String what) {
    CompletableFuture<T> result = new CompletableFuture<>();
    call.whenComplete((value, failure) -> {
      if (failure != null) {
        result.completeExceptionally(failure);
      } else {
        result.complete(value);
      }
    });
    CompletableFuture.delayedExecutor(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS).execute(() ->
        result.completeExceptionally(new TimeoutException(what + ": no answer within " + seconds(timeout))));
    return result;
  }

  static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }
}
