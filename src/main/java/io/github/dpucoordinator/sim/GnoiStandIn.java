package io.github.dpucoordinator.sim;

import io.github.dpucoordinator.proto.gnoi.system.CancelRebootRequest;
import io.github.dpucoordinator.proto.gnoi.system.CancelRebootResponse;
import io.github.dpucoordinator.proto.gnoi.system.RebootMethod;
import io.github.dpucoordinator.proto.gnoi.system.RebootRequest;
import io.github.dpucoordinator.proto.gnoi.system.RebootResponse;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatus;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatusRequest;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatusResponse;
import io.github.dpucoordinator.proto.gnoi.system.SystemHandlerFactory;
import io.github.dpucoordinator.proto.gnoi.system.TimeRequest;
import io.github.dpucoordinator.proto.gnoi.system.TimeResponse;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;

/**
 * A light SONiC-like DPU for the benchmark: gNOI System only, no state machine, no steps. Reboot HALT (or COLD, WARM)
 * starts a halt of a fixed length; another Reboot meanwhile is INVALID_ARGUMENT "reboot in progress"; RebootStatus is
 * active while it halts, then SUCCESS with reason "Halt reboot completed" (active left out), as SONiC's DPU answers
 * (reference/GNOI.md). {@code restartAfterMillis} after a halt it is up again (a power cycle nobody waits for), which
 * answers with only its reboot count. It keeps when each halt ended and how many RebootStatus calls it served.
 */
public final class GnoiStandIn implements io.github.dpucoordinator.proto.gnoi.system.System {
  private final long haltMillis;
  private final long restartAfterMillis;
  private final AtomicLong statusCalls = new AtomicLong();
  private long haltStartedAt = -1;
  private String reason = "";
  private int count;
  private ServerBinding binding;

  private GnoiStandIn(long haltMillis, long restartAfterMillis) {
    this.haltMillis = haltMillis;
    this.restartAfterMillis = restartAfterMillis;
  }

  /** A stand-in serving on a free loopback port of {@code system}'s. */
  public static GnoiStandIn start(ActorSystem<?> system, long haltMillis, long restartAfterMillis) throws Exception {
    GnoiStandIn dpu = new GnoiStandIn(haltMillis, restartAfterMillis);
    dpu.binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(SystemHandlerFactory.create(dpu, system))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    return dpu;
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public long statusCalls() {
    return statusCalls.get();
  }

  /** When its last halt ended (epoch ms), -1 none yet. */
  public synchronized long lastHaltEnd() {
    return haltStartedAt < 0 ? -1 : haltStartedAt + haltMillis;
  }

  public long haltMillis() {
    return haltMillis;
  }

  private boolean halting(long now) {
    return haltStartedAt >= 0 && now < haltStartedAt + haltMillis;
  }

  private boolean restarted(long now) {
    return haltStartedAt >= 0 && now >= haltStartedAt + haltMillis + restartAfterMillis;
  }

  @Override
  public synchronized CompletionStage<RebootResponse> reboot(RebootRequest in) {
    long now = System.currentTimeMillis();
    if (in.getDelay() > 0) {
      return failed(Status.INVALID_ARGUMENT.withDescription("delayed reboot is not supported"));
    }
    if (in.getMethod() != RebootMethod.HALT && in.getMethod() != RebootMethod.COLD && in.getMethod() != RebootMethod.WARM) {
      return failed(Status.INVALID_ARGUMENT.withDescription("invalid reboot method: " + in.getMethod()));
    }
    if (halting(now)) {
      return failed(Status.INVALID_ARGUMENT.withDescription("reboot in progress"));
    }
    haltStartedAt = now;
    reason = in.getMessage();
    count++;
    return CompletableFuture.completedFuture(RebootResponse.getDefaultInstance());
  }

  @Override
  public synchronized CompletionStage<RebootStatusResponse> rebootStatus(RebootStatusRequest in) {
    statusCalls.incrementAndGet();
    long now = System.currentTimeMillis();
    if (haltStartedAt < 0 || restarted(now)) {
      return CompletableFuture.completedFuture(RebootStatusResponse.newBuilder().setCount(count).build());
    }
    if (halting(now)) {
      return CompletableFuture.completedFuture(RebootStatusResponse.newBuilder()
          .setActive(true).setMethod(RebootMethod.HALT).setReason(reason).setCount(count).build());
    }
    return CompletableFuture.completedFuture(RebootStatusResponse.newBuilder()
        .setMethod(RebootMethod.HALT).setReason("Halt reboot completed").setCount(count)
        .setStatus(RebootStatus.newBuilder().setStatus(RebootStatus.Status.STATUS_SUCCESS)).build());
  }

  /** SONiC's DPU answers CancelReboot with INTERNAL (reference/GNOI.md), and so does its stand-in. */
  @Override
  public CompletionStage<CancelRebootResponse> cancelReboot(CancelRebootRequest in) {
    return failed(Status.INTERNAL.withDescription("CancelReboot: a SONiC DPU cannot cancel a reboot"));
  }

  @Override
  public CompletionStage<TimeResponse> time(TimeRequest in) {
    return CompletableFuture.completedFuture(TimeResponse.newBuilder().setTime(System.currentTimeMillis() * 1_000_000L).build());
  }

  private static <T> CompletionStage<T> failed(Status status) {
    return CompletableFuture.failedFuture(new GrpcServiceException(status));
  }
}
