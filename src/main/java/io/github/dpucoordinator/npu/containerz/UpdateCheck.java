package io.github.dpucoordinator.npu.containerz;

import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What both runtimes' updates share: whether the new version counts as started (it started, and still runs after
 * {@code npu.containerz.start-check}), and the refusal that says an update failed and what became of the old version.
 */
public final class UpdateCheck {
  private UpdateCheck() {}

  /** Null when the new version {@code started} and {@code running} says yes after {@code startCheck}; else why not. */
  public static CompletionStage<String> verdict(CompletionStage<?> started, Duration startCheck, Supplier<CompletionStage<Boolean>> running) {
    return started.thenCompose(s -> CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(startCheck.toMillis(),
            TimeUnit.MILLISECONDS)))
        .thenCompose(s -> running.get())
        .handle((up, failure) -> failure != null ? ContainerzError.from(failure).getMessage()
            : up ? null : "it did not keep running for " + startCheck.toMillis() + " ms (see its log)");
  }

  /** FAILED_PRECONDITION: the update of {@code name} to {@code next} failed {@code why}; {@code previous}'s fate in {@code restored}. */
  public static ContainerzError failed(String name, ImageRef next, String why, String previous, Throwable restoreFailure) {
    String outcome = restoreFailure == null ? "the previous version " + previous + " was restored and runs"
        : "restoring the previous version " + previous + " failed too: " + ContainerzError.from(restoreFailure).getMessage();
    return new ContainerzError(Code.FAILED_PRECONDITION, "update of " + name + " to " + next + " failed: " + why + "; " + outcome);
  }
}
