package io.github.dpucoordinator.npu.containerz.docker;

import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import io.github.dpucoordinator.npu.containerz.ContainerzError;
import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Calls to the Docker Engine, on the blocking dispatcher, with Docker's failures made the protocol's: a daemon that
 * does not answer is UNAVAILABLE naming its address, a missing object NOT_FOUND, a conflict ALREADY_EXISTS.
 */
final class DockerCalls {
  interface Call<T> {
    T run() throws Exception;
  }

  private final Executor blocking;
  private final String host;

  DockerCalls(Executor blocking, String host) {
    this.blocking = blocking;
    this.host = host;
  }

  <T> CompletionStage<T> call(String what, Call<T> call) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return call.run();
      } catch (ContainerzError e) {
        throw new CompletionException(e);
      } catch (Exception e) {
        throw new CompletionException(translate(what, e));
      }
    }, blocking);
  }

  ContainerzError translate(String what, Throwable e) {
    if (e instanceof NotFoundException) {
      return new ContainerzError(Code.NOT_FOUND, what + ": " + clean(e));
    }
    if (e instanceof ConflictException) {
      return new ContainerzError(Code.ALREADY_EXISTS, what + ": " + clean(e));
    }
    if (e instanceof NotModifiedException) {
      return new ContainerzError(Code.FAILED_PRECONDITION, what + ": nothing to do (" + clean(e) + ")");
    }
    if (e instanceof IllegalArgumentException) {
      return new ContainerzError(Code.INVALID_ARGUMENT, what + ": " + e.getMessage());
    }
    if (e instanceof DockerException) {
      return new ContainerzError(Code.INTERNAL, what + ": Docker said: " + clean(e));
    }
    return new ContainerzError(Code.UNAVAILABLE, what + ": the Docker daemon at " + host + " is not answering (" + rootMessage(e)
        + "); dpu-coordinator.npu.containerz.docker-host names it");
  }

  private static String clean(Throwable e) {
    String m = String.valueOf(e.getMessage()).trim();
    return m.replaceAll("^Status \\d+: ", "").replaceAll("\\s+", " ");
  }

  private static String rootMessage(Throwable e) {
    Throwable c = e;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c.getClass().getSimpleName() + ": " + c.getMessage();
  }
}
