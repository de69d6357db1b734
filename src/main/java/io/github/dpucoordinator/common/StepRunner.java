package io.github.dpucoordinator.common;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command step through {@code sh -c} on a blocking executor. The process gets the step's
 * timeout; on expiry it and its children are killed and the step is reported as timed out. Output
 * goes to a temporary file so a chatty command can never block on a full pipe; its tail is kept as
 * the step's detail.
 */
public final class StepRunner {
  private static final int DETAIL_CHARS = 300;

  /** The command that names a built-in step: {@code builtin:<name>}. */
  public static final String BUILTIN = "builtin:";

  private final Executor blocking;
  private final Map<String, java.util.function.Function<Duration, CompletionStage<StepResult>>> builtins;

  public StepRunner(Executor blocking) {
    this(blocking, Map.of());
  }

  /** {@code builtins}: steps done in this JVM (a command {@code builtin:<name>}), each given the step's timeout. */
  public StepRunner(Executor blocking, Map<String, java.util.function.Function<Duration, CompletionStage<StepResult>>> builtins) {
    this.blocking = blocking;
    this.builtins = Map.copyOf(builtins);
  }

  public CompletionStage<StepResult> run(StepSpec step, Duration timeout) {
    return run(step, timeout, Map.of());
  }

  /** {@code env}: variables added to the command's environment, e.g. the campaign id it runs for. */
  public CompletionStage<StepResult> run(StepSpec step, Duration timeout, Map<String, String> env) {
    if (step.command().startsWith(BUILTIN)) {
      String name = step.command().substring(BUILTIN.length());
      var builtin = builtins.get(name);
      if (builtin == null) {
        return CompletableFuture.completedFuture(new StepResult(step.name(), false, "no built-in step '" + name + "' here", 0));
      }
      long start = System.nanoTime();
      return builtin.apply(timeout).toCompletableFuture().orTimeout(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS)
          .exceptionally(e -> new StepResult(step.name(), false, e instanceof java.util.concurrent.TimeoutException
              || e.getCause() instanceof java.util.concurrent.TimeoutException ? "timed out after " + timeout.toMillis() + " ms"
              : String.valueOf((e.getCause() != null ? e.getCause() : e).getMessage()), elapsed(start)));
    }
    return CompletableFuture.supplyAsync(() -> runBlocking(step, timeout, env), blocking);
  }

  private static StepResult runBlocking(StepSpec step, Duration timeout, Map<String, String> env) {
    long start = System.nanoTime();
    Path out = null;
    try {
      out = Files.createTempFile("dpuctl-step-", ".log");
      ProcessBuilder builder = new ProcessBuilder("sh", "-c", step.command())
          .redirectErrorStream(true)
          .redirectOutput(out.toFile());
      builder.environment().putAll(env);
      Process process = builder.start();
      boolean finished = process.waitFor(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
      if (!finished) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        return new StepResult(step.name(), false, "timed out after " + timeout.toMillis() + " ms", elapsed(start));
      }
      int exit = process.exitValue();
      String tail = tail(out);
      String detail = exit == 0 ? tail : "exit " + exit + (tail.isEmpty() ? "" : ": " + tail);
      return new StepResult(step.name(), exit == 0, detail, elapsed(start), exit);
    } catch (IOException e) {
      return new StepResult(step.name(), false, "could not run: " + e.getMessage(), elapsed(start));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new StepResult(step.name(), false, "interrupted", elapsed(start));
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException ignored) {
          // a leftover temp file is harmless
        }
      }
    }
  }

  private static String tail(Path out) throws IOException {
    String text = Files.readString(out, StandardCharsets.UTF_8).strip();
    return text.length() <= DETAIL_CHARS ? text : "..." + text.substring(text.length() - DETAIL_CHARS);
  }

  private static long elapsed(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }
}
