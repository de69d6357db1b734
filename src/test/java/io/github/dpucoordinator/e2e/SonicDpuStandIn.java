package io.github.dpucoordinator.e2e;

import gnoi.system.IndependentGnoiSystem.CancelRebootRequest;
import gnoi.system.IndependentGnoiSystem.CancelRebootResponse;
import gnoi.system.IndependentGnoiSystem.RebootMethod;
import gnoi.system.IndependentGnoiSystem.RebootRequest;
import gnoi.system.IndependentGnoiSystem.RebootResponse;
import gnoi.system.IndependentGnoiSystem.RebootStatus;
import gnoi.system.IndependentGnoiSystem.RebootStatusRequest;
import gnoi.system.IndependentGnoiSystem.RebootStatusResponse;
import gnoi.system.IndependentGnoiSystem.TimeRequest;
import gnoi.system.IndependentGnoiSystem.TimeResponse;
import gnoi.system.SystemHandlerFactory;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;

/**
 * A DPU that answers gNOI System the way GNOI.md says SONiC's does: HALT (and COLD/WARM) accepted;
 * delay > 0, UNKNOWN, POWERDOWN, NSF and POWERUP are INVALID_ARGUMENT; a second Reboot while one runs
 * is INVALID_ARGUMENT "reboot in progress"; CancelReboot is INTERNAL; an idle RebootStatus is the
 * empty message; once halted, {@code active} is omitted and status is SUCCESS with reason
 * "Halt reboot completed". It can also be told to report FAILURE, or RETRIABLE_FAILURE once or always.
 */
final class SonicDpuStandIn implements gnoi.system.System {

  /** How each halt ends: RETRIABLE_ONCE the first time only; RETRIABLE_ALWAYS every time. */
  enum Outcome { SUCCESS, FAILURE, RETRIABLE_ONCE, RETRIABLE_ALWAYS }

  private final long haltMillis;
  private final Outcome outcome;
  /** Reboot requests that started a halt. */
  final AtomicInteger halts = new AtomicInteger();
  private long haltStartedNanos = -1;
  private String reason = "";
  private int count;
  private boolean retriableSent;
  private ServerBinding binding;
  /** When set, each halt started prints "NAME halt N" (for a stand-in in another process). */
  private String announce;

  SonicDpuStandIn(long haltMillis, Outcome outcome) {
    this.haltMillis = haltMillis;
    this.outcome = outcome;
  }

  SonicDpuStandIn announcing(String name) {
    announce = name;
    return this;
  }

  static SonicDpuStandIn start(ActorSystem<?> system, long haltMillis, Outcome outcome) throws Exception {
    SonicDpuStandIn dpu = new SonicDpuStandIn(haltMillis, outcome);
    dpu.binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(SystemHandlerFactory.create(dpu, system))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    return dpu;
  }

  int port() {
    return binding.localAddress().getPort();
  }

  /** What the NPU reboot does to a DPU: it comes back with nothing to report. */
  synchronized void powerCycle() {
    haltStartedNanos = -1;
    reason = "";
  }

  /** Starts a halt as if someone else (not the NPU under test) had asked for it. */
  synchronized void haltNow(String why) {
    beginHalt(why);
  }

  private synchronized boolean halting() {
    return haltStartedNanos >= 0 && java.lang.System.nanoTime() - haltStartedNanos < TimeUnit.MILLISECONDS.toNanos(haltMillis);
  }

  private void beginHalt(String why) {
    haltStartedNanos = java.lang.System.nanoTime();
    reason = why;
    count++;
    int n = halts.incrementAndGet();
    if (announce != null) {
      java.lang.System.out.println(announce + " halt " + n);
    }
  }

  @Override
  public synchronized CompletionStage<RebootResponse> reboot(RebootRequest in) {
    if (in.getDelay() > 0) {
      return failed(Status.INVALID_ARGUMENT.withDescription("delayed reboot is not supported"));
    }
    if (in.getMethod() != RebootMethod.HALT && in.getMethod() != RebootMethod.COLD && in.getMethod() != RebootMethod.WARM) {
      return failed(Status.INVALID_ARGUMENT.withDescription("invalid reboot method: " + in.getMethod()));
    }
    if (halting()) {
      return failed(Status.INVALID_ARGUMENT.withDescription("reboot in progress"));
    }
    beginHalt(in.getMessage());
    return CompletableFuture.completedFuture(RebootResponse.getDefaultInstance());
  }

  @Override
  public synchronized CompletionStage<RebootStatusResponse> rebootStatus(RebootStatusRequest in) {
    if (haltStartedNanos < 0) {
      return CompletableFuture.completedFuture(RebootStatusResponse.getDefaultInstance());
    }
    if (halting()) {
      return CompletableFuture.completedFuture(RebootStatusResponse.newBuilder()
          .setActive(true).setMethod(RebootMethod.HALT).setReason(reason).setCount(count).build());
    }
    RebootStatus.Status status = RebootStatus.Status.STATUS_SUCCESS;
    if (outcome == Outcome.FAILURE) {
      status = RebootStatus.Status.STATUS_FAILURE;
    } else if (outcome == Outcome.RETRIABLE_ALWAYS || (outcome == Outcome.RETRIABLE_ONCE && !retriableSent)) {
      retriableSent = true;
      haltStartedNanos = -1; // the halt did not happen; a new Reboot may try again
      return CompletableFuture.completedFuture(RebootStatusResponse.newBuilder().setMethod(RebootMethod.HALT).setCount(count)
          .setStatus(RebootStatus.newBuilder().setStatus(RebootStatus.Status.STATUS_RETRIABLE_FAILURE).setMessage("services busy")).build());
    }
    // active is left out (false): what a halted SONiC DPU sends
    return CompletableFuture.completedFuture(RebootStatusResponse.newBuilder()
        .setMethod(RebootMethod.HALT).setReason("Halt reboot completed").setCount(count)
        .setStatus(RebootStatus.newBuilder().setStatus(status)
            .setMessage(status == RebootStatus.Status.STATUS_FAILURE ? "pre-shutdown of dash services failed" : ""))
        .build());
  }

  @Override
  public CompletionStage<CancelRebootResponse> cancelReboot(CancelRebootRequest in) {
    return failed(Status.INTERNAL.withDescription("CancelReboot is not implemented"));
  }

  @Override
  public CompletionStage<TimeResponse> time(TimeRequest in) {
    return CompletableFuture.completedFuture(TimeResponse.newBuilder().setTime(java.lang.System.currentTimeMillis() * 1_000_000L).build());
  }

  private static <T> CompletionStage<T> failed(Status status) {
    return CompletableFuture.failedFuture(new GrpcServiceException(status));
  }
}
