package io.github.dpucoordinator.npu.transport;

import io.github.dpucoordinator.common.Failures;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The transports' clients, one per DPU, renewed after a call that did not reach its DPU (refused, cut, or no answer in
 * time): the next call opens a fresh connection at once, so a DPU that comes back (a restart, a healed partition, a
 * connection that hung) is reached at the caller's own pace, not after gRPC's reconnect backoff (1 s growing 1.6x).
 */
final class Clients {
  private Clients() {}

  /** {@code call} to {@code dpu}; if it did not reach it, the DPU's client is closed and dropped (the next call makes another). */
  static <C, T> CompletableFuture<T> renewIfUnreached(Map<DpuEndpoint, C> clients, DpuEndpoint dpu, CompletableFuture<T> call, Consumer<C> close) {
    return call.whenComplete((result, failure) -> {
      C current = failure != null && unreached(failure) ? clients.get(dpu) : null;
      if (current != null && clients.remove(dpu, current)) {
        close.accept(current); // a graceful shutdown: calls still on it finish
      }
    });
  }

  private static boolean unreached(Throwable failure) {
    Throwable t = Failures.unwrap(failure);
    return t instanceof TimeoutException || (t instanceof StatusRuntimeException s && Failures.notReached(s.getStatus()));
  }
}
