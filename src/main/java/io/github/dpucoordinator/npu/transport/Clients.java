package io.github.dpucoordinator.npu.transport;

import io.github.dpucoordinator.common.Failures;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A transport's clients, one per DPU (one HTTP/2 connection each), made on first use and renewed when a call did not reach
 * its DPU, so a DPU that comes back (a restart, a healed partition, a connection that hung) is reached at the caller's own
 * pace, not after gRPC's reconnect backoff (1 s growing 1.6x). A refused or cut connection renews the client at once; a call
 * that only timed out does so when the call before it on the same client timed out too: on a lossy link the connection TCP
 * is still retransmitting on is worth keeping (a fresh one pays its handshake again, 1 s per lost SYN), a hung one is not.
 */
final class Clients<C> {
  private final Map<DpuEndpoint, C> clients = new ConcurrentHashMap<>();
  private final Set<C> timedOut = ConcurrentHashMap.newKeySet();
  private final Function<DpuEndpoint, C> open;
  private final Predicate<C> closed;
  private final Consumer<C> close;

  Clients(Function<DpuEndpoint, C> open, Predicate<C> closed, Consumer<C> close) {
    this.open = open;
    this.closed = closed;
    this.close = close;
  }

  /** The DPU's client, a new one if it has none or the one it had was closed. */
  C of(DpuEndpoint dpu) {
    return clients.compute(dpu, (k, existing) -> {
      if (existing != null && !closed.test(existing)) {
        return existing;
      }
      if (existing != null) {
        timedOut.remove(existing);
      }
      return open.apply(k);
    });
  }

  /** {@code call} made on {@code dpu}'s client; if it did not reach the DPU, the client may be closed and dropped (see above). */
  <T> CompletableFuture<T> renewIfUnreached(DpuEndpoint dpu, C client, CompletableFuture<T> call) {
    return call.whenComplete((result, failure) -> {
      Throwable t = failure == null ? null : Failures.unwrap(failure);
      boolean timeout = t instanceof TimeoutException;
      boolean refused = t instanceof StatusRuntimeException s && Failures.notReached(s.getStatus());
      if (!timeout && !refused) {
        timedOut.remove(client);
      } else if (clients.get(dpu) == client && (refused || !timedOut.add(client)) && clients.remove(dpu, client)) {
        timedOut.remove(client);
        close.accept(client); // a graceful shutdown: calls still on it finish
      }
    });
  }

  void closeAll() {
    clients.values().forEach(close);
    clients.clear();
    timedOut.clear();
  }
}
