package io.github.dpucoordinator.common;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Pauses outside actors (between polls, before asking again, a simulated task) on the actor system's scheduler, so
 * that they keep its time: in tests, ManualTime's.
 */
@FunctionalInterface
public interface Delays {
  CompletionStage<Void> after(Duration pause);

  static Delays of(ActorSystem<?> system) {
    return pause -> {
      if (pause.isZero() || pause.isNegative()) {
        return CompletableFuture.completedFuture(null);
      }
      CompletableFuture<Void> done = new CompletableFuture<>();
      try {
        system.scheduler().scheduleOnce(pause, () -> done.complete(null), system.executionContext());
      } catch (IllegalStateException e) { // the scheduler is shutting down with the system
        done.completeExceptionally(e);
      }
      return done;
    };
  }
}
