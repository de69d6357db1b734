package io.github.dpucoordinator.offloader;

/**
 * What one offloaded container's actor is doing now (it does one thing at a time): nothing, an operation (a start,
 * restart, upgrade, rollback, stop), or waiting out the backoff before a restart, which anything else may call off.
 */
final class Operation {
  private static final String RESTART_PENDING = "waiting to restart";
  static final String UPGRADING = "upgrading";
  static final String ROLLING_BACK = "rolling back";
  static final String HALT_STOPPING = "stopping for the DPU halt";

  private String what;
  private int restartGeneration;
  private boolean putOff;
  private int epoch;

  boolean idle() {
    return what == null;
  }

  /** Running an operation proper (not only waiting to restart): what must wait for it is stashed. */
  boolean running() {
    return what != null && !RESTART_PENDING.equals(what);
  }

  /**
   * Whether an operator's request is refused now rather than done after the operation: during an upgrade or rollback,
   * which may take minutes (a start or stop is a few Containerz calls, and a Deploy at most), and during the stop for
   * a DPU halt (a start done after it would undo it while the DPU goes down).
   */
  boolean refusesOperators() {
    return UPGRADING.equals(what) || ROLLING_BACK.equals(what) || HALT_STOPPING.equals(what);
  }

  /** What it is doing, in words (null when idle). */
  String what() {
    return what;
  }

  /** Counts operations begun (and definitions changed): a health check begun before the count moved says nothing about now. */
  int epoch() {
    return epoch;
  }

  /** What a health check begun before now saw no longer counts (the container's definition changed). */
  void forgetChecks() {
    epoch++;
  }

  /** Starts {@code operation}: its flow, whose failure to even start is a failed stage like any other. */
  <T> java.util.concurrent.CompletionStage<T> begin(String operation, java.util.function.Supplier<java.util.concurrent.CompletionStage<T>> flow) {
    what = operation;
    epoch++;
    try {
      return flow.get();
    } catch (RuntimeException e) {
      return java.util.concurrent.CompletableFuture.failedFuture(e);
    }
  }

  /** The operation ended; true when it was put off (the NPU could not be reached) and had not been before: say so once. */
  boolean end(boolean deferred) {
    what = null;
    boolean first = deferred && !putOff;
    putOff = deferred;
    return first;
  }

  /** A restart waits out its backoff; the generation its timer carries. */
  int awaitRestart() {
    what = RESTART_PENDING;
    return ++restartGeneration;
  }

  /** Whether the restart timer of {@code generation} is the one still awaited (then the wait is over). */
  boolean restartDue(int generation) {
    if (generation != restartGeneration || !RESTART_PENDING.equals(what)) {
      return false;
    }
    what = null;
    return true;
  }

  /** True when nothing else runs now (a restart that was only waiting is called off). */
  boolean callOffPendingRestart() {
    if (RESTART_PENDING.equals(what)) {
      restartGeneration++;
      what = null;
    }
    return what == null;
  }
}
