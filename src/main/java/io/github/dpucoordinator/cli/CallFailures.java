package io.github.dpucoordinator.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * How the gRPC client commands (containerz, offloadctl) wait for an answer and turn a failed call into one line and an
 * exit code: a server that cannot be reached is 4, a status the server chose is 3 (or 4 when {@code relayedUnavailable}:
 * the server said that what stands behind it cannot be reached).
 */
final class CallFailures {
  private CallFailures() {}

  static <T> T await(CompletionStage<T> stage, Duration timeout) throws Exception {
    try {
      return stage.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception x ? x : e;
    }
  }

  /** The gRPC failure among {@code e} and its causes. */
  static java.util.Optional<StatusRuntimeException> status(Throwable e) {
    Throwable c = e;
    while (c.getCause() != null && !(c instanceof StatusRuntimeException)) {
      c = c.getCause();
    }
    return c instanceof StatusRuntimeException s ? java.util.Optional.of(s) : java.util.Optional.empty();
  }

  /** Prints what went wrong, prefixed with {@code command}; {@code unreachable}: the line for a server not reached. */
  static int exit(String command, String unreachable, boolean relayedUnavailable, Throwable e) {
    StatusRuntimeException s = status(e).orElse(null);
    if (s != null) {
      Status status = s.getStatus();
      String d = String.valueOf(status.getDescription());
      if (io.github.dpucoordinator.common.Failures.notReached(status)) {
        System.err.println(command + ": " + unreachable + ": " + Systems.rootMessage(s));
        return ExitCodes.UNREACHABLE;
      }
      System.err.println(command + ": " + (status.getCode() == Status.Code.UNIMPLEMENTED && relayedUnavailable ? "" : status.getCode() + ": ") + d);
      return status.getCode() == Status.Code.UNAVAILABLE && relayedUnavailable ? ExitCodes.UNREACHABLE : ExitCodes.REFUSED;
    }
    if (e instanceof TimeoutException) {
      System.err.println(command + ": no answer in time (" + unreachable.replaceFirst("^cannot reach ", "") + ")");
      return ExitCodes.UNREACHABLE;
    }
    System.err.println(command + ": " + Systems.rootMessage(e));
    return ExitCodes.REFUSED;
  }
}
