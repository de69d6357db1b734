package io.github.dpucoordinator.common;

import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.japi.function.Function;

/**
 * Asks an actor on behalf of a gRPC call. The time allowed comes from configuration ({@code key} names it),
 * and a failure reaches the caller as a status it can act on, never INTERNAL: no answer in time is
 * DEADLINE_EXCEEDED, an actor system that is going away UNAVAILABLE.
 */
public final class Asks {
  private Asks() {}

  public static <C, R> CompletionStage<R> ask(ActorSystem<?> system, RecipientRef<C> target, Function<ActorRef<R>, C> message,
      Duration timeout, String key) {
    CompletionStage<R> asked;
    try {
      asked = AskPattern.ask(target, message, timeout, system.scheduler());
    } catch (IllegalStateException e) { // the scheduler refuses: the system is shutting down
      return java.util.concurrent.CompletableFuture.failedFuture(unavailable(e));
    }
    return asked.handle((reply, failure) -> {
      if (failure == null) {
        return reply;
      }
      Throwable cause = Failures.unwrap(failure);
      if (cause instanceof TimeoutException) {
        throw new GrpcServiceException(Status.DEADLINE_EXCEEDED.withDescription("no answer from the service within " + key + " ("
            + timeout.toMillis() + " ms): it may be recovering its journal or waiting on a journal write; try again"));
      }
      throw unavailable(cause);
    });
  }

  /** Asks made on behalf of one API: its actor system, its time allowed and the key that configures it. */
  public record Bound(ActorSystem<?> system, Duration timeout, String key) {
    public <C, R> CompletionStage<R> ask(RecipientRef<C> target, Function<ActorRef<R>, C> message) {
      return Asks.ask(system, target, message, timeout, key);
    }
  }

  private static GrpcServiceException unavailable(Throwable cause) {
    return new GrpcServiceException(Status.UNAVAILABLE.withDescription("the service cannot answer now: " + cause.getMessage()));
  }
}
