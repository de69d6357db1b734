package io.github.dpucoordinator.npu.transport;

import io.github.dpucoordinator.common.Deadline;
import io.github.dpucoordinator.common.Delays;
import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.ProtectiveTrailers;
import io.github.dpucoordinator.proto.gnoi.system.RebootMethod;
import io.github.dpucoordinator.proto.gnoi.system.RebootRequest;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatus;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatusRequest;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatusResponse;
import io.github.dpucoordinator.proto.gnoi.system.SystemClient;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * gNOI {@code gnoi.system.System} as a {@link DpuTransport}, the way SONiC's NPU drives its DPUs:
 * Reboot with the configured method (HALT for a pre-reboot shutdown), then RebootStatus polled at an
 * interval. Read with proto3 defaults: an absent {@code active} is false (SONiC omits it once halted).
 *
 * <p>gNOI has no campaign ids: a reboot counts as complete for a campaign once the DPU, after accepting
 * it, reports not active with a final status (SUCCESS), or not active after having been seen active, or
 * not active with a reboot {@code count} above the one read just before the Reboot was sent (a reboot
 * quick enough to finish between two polls, on a DPU whose status resets when it restarts). That count
 * goes back with the acknowledgment ({@link SignalReply#countBefore()}) to be journaled, and the caller hands
 * it back with what it has seen since ({@link Evidence}) on every poll: this transport keeps nothing per DPU,
 * and a DPU that halted and restarted while the NPU service was down is still recognised as done.
 * INVALID_ARGUMENT "reboot in progress" means one is already running: that is an acknowledgment.
 */
public final class GnoiDpuTransport implements DpuTransport {

  private final RebootMethod method;
  /** The pause before a poll, on the actor system's scheduler. */
  private final Delays delays;
  private final Clients<SystemClient> clients;
  private final AtomicLong versions = new AtomicLong();
  private static final io.micrometer.core.instrument.Counter BASELINE_READS = rebootStatusCalls("baseline");
  private static final io.micrometer.core.instrument.Counter POLLS = rebootStatusCalls("poll");

  public GnoiDpuTransport(ActorSystem<?> system, Duration callDeadline, String method) {
    this(system, callDeadline, method, DpuTls.plaintext());
  }

  /** {@code tls}: how each DPU is reached (plaintext, TLS, skip-verify, with a client certificate). */
  public GnoiDpuTransport(ActorSystem<?> system, Duration callDeadline, String method, DpuTls tls) {
    this.method = RebootMethod.valueOf(method);
    this.delays = Delays.of(system);
    this.clients = new Clients<>(dpu -> SystemClient.create(tls.client(system, dpu, callDeadline), system),
        c -> c.closed().toCompletableFuture().isDone(), SystemClient::close);
  }

  @Override
  public CompletionStage<SignalReply> signal(DpuEndpoint dpu, SignalRequest r, Duration timeout) {
    RebootMethod m = r.method().isEmpty() ? method : RebootMethod.valueOf(r.method());
    RebootRequest request = RebootRequest.newBuilder()
        .setMethod(m)
        .setMessage("campaign " + r.campaignId() + ": " + r.reason())
        .setDpuCoordinatorCampaignId(r.campaignId())
        .build();
    // The evidence of completion is the caller's Baseline, journaled before this call (needsBaseline): not read again here.
    SystemClient client = clients.of(dpu);
    return clients.renewIfUnreached(dpu, client, Deadline.within(client.reboot(request).toCompletableFuture(), timeout,
            "gNOI Reboot " + m + " to " + dpu.id() + " at " + dpu.host() + ":" + dpu.port())
        .handle((ok, failure) -> {
          if (failure == null) {
            return new SignalReply(Disposition.STARTED, r.campaignId(), State.SHUTDOWN, -1, "gNOI Reboot " + m + " accepted");
          }
          // Our agent refuses a Reboot during a firmware update or crash dump: nothing started, ask again later.
          var protective = ProtectiveTrailers.in(failure);
          if (protective.isPresent()) {
            return new SignalReply(Disposition.PROTECTIVE, r.campaignId(), State.LISTENING, -1,
                DpuTransport.protective(protective.get().name(), protective.get().reason()));
          }
          Status status = status(failure);
          if (status != null && GnoiText.inProgress(status)) {
            return new SignalReply(Disposition.IN_PROGRESS, r.campaignId(), State.SHUTDOWN, -1,
                "gNOI: reboot in progress (" + status.getDescription() + ")");
          }
          String refusal = status == null ? null : GnoiText.protectiveRefusal(status);
          if (refusal != null) {
            return new SignalReply(Disposition.PROTECTIVE, r.campaignId(), State.LISTENING, -1, refusal);
          }
          if (status != null && (status.getCode() == Status.Code.INVALID_ARGUMENT || status.getCode() == Status.Code.UNIMPLEMENTED)) {
            throw new Permanent("gNOI Reboot " + m + " refused: " + status.getCode() + ": " + status.getDescription());
          }
          throw failure instanceof CompletionException ce ? ce : new CompletionException(failure);
        }));
  }

  @Override
  public boolean needsBaseline(DpuEndpoint dpu) {
    return true;
  }

  @Override
  public boolean longPolls(DpuEndpoint dpu) {
    return false;
  }

  @Override
  public CompletionStage<Baseline> baseline(DpuEndpoint dpu, Duration timeout) {
    SystemClient client = clients.of(dpu);
    BASELINE_READS.increment();
    return clients.renewIfUnreached(dpu, client, Deadline.within(client.rebootStatus(RebootStatusRequest.getDefaultInstance())
            .toCompletableFuture(), timeout, "gNOI RebootStatus of " + dpu.id() + " at " + dpu.host() + ":" + dpu.port()))
        .thenApply(s -> new Baseline(Integer.toUnsignedLong(s.getCount()), s.getWhen(), s.getDpuCoordinatorBootId(), s.getActive()));
  }

  @Override
  public CompletionStage<Observation> observe(DpuEndpoint dpu, String campaignId, Evidence evidence, long knownVersion, Duration wait,
      Duration timeout) {
    // No long poll in gNOI: the caller's wait is a pause before asking (its PollSchedule plans them).
    CompletableFuture<Void> pause = wait.isZero() ? CompletableFuture.completedFuture(null) : delays.after(wait).toCompletableFuture();
    Duration call = timeout.compareTo(wait) > 0 ? timeout.minus(wait) : timeout; // the caller's timeout covers the pause too
    return pause.thenCompose(x -> {
      SystemClient client = clients.of(dpu); // after the pause: the client of then, not one renewed meanwhile
      POLLS.increment();
      return clients.renewIfUnreached(dpu, client, Deadline.within(client.rebootStatus(RebootStatusRequest.getDefaultInstance())
          .toCompletableFuture(), call, "gNOI RebootStatus of " + dpu.id() + " at " + dpu.host() + ":" + dpu.port()));
    })
        .thenApply(s -> observation(campaignId, evidence, s));
  }

  private Observation observation(String campaignId, Evidence evidence, RebootStatusResponse s) {
    RebootStatus.Status status = s.getStatus().getStatus();
    long version = versions.incrementAndGet();
    String bootId = s.getDpuCoordinatorBootId(); // this project's agent only; "" from any other gNOI server
    if (s.getActive()) {
      return new Observation(State.SHUTDOWN, version, List.of(), false, "", bootId, "", false);
    }
    String message = s.getStatus().getMessage().isEmpty() ? s.getReason() : s.getStatus().getMessage();
    if (status == RebootStatus.Status.STATUS_FAILURE) {
      return new Observation(State.FAILED, version, List.of(), false, message, bootId, "DPU reported FAILURE: " + message, false);
    }
    if (status == RebootStatus.Status.STATUS_RETRIABLE_FAILURE) {
      return new Observation(State.FAILED, version, List.of(), false, message, bootId, "DPU reported RETRIABLE_FAILURE: " + message, true);
    }
    // Not active after having been seen active is a finished halt, unless the DPU says it is another boot (ours does):
    // then it restarted in the middle (a crash, a power cycle), which the caller records as such.
    boolean restarted = !evidence.bootBefore().isEmpty() && !bootId.isEmpty() && !bootId.equals(evidence.bootBefore());
    boolean done = !campaignId.isEmpty() && (status == RebootStatus.Status.STATUS_SUCCESS || (evidence.seenActive() && !restarted)
        || (evidence.countBefore() >= 0 && s.getCount() > evidence.countBefore()));
    // Halted and still down: not Listening. Anything else not active is a DPU that is up.
    boolean halted = status == RebootStatus.Status.STATUS_SUCCESS && s.getMethod() == RebootMethod.HALT;
    // A completion with failed steps is a degraded one: our agent names them in a field; else the message may.
    String failed = s.getDpuCoordinatorFailedStepsCount() > 0 ? String.join(", ", s.getDpuCoordinatorFailedStepsList())
        : GnoiText.failedSteps(message);
    boolean degraded = done && !failed.isEmpty();
    return new Observation(halted ? State.WAIT_FOR_RESTART : State.LISTENING, version, done ? List.of(campaignId) : List.of(), degraded,
        degraded ? failed : message, bootId, "", false);
  }

  private static io.micrometer.core.instrument.Counter rebootStatusCalls(String purpose) {
    return io.github.dpucoordinator.common.Metrics.counter("dpu.gnoi.reboot.status.calls",
        "gNOI RebootStatus calls the NPU made: the baseline read before a HALT, or a poll for completion", "purpose", purpose);
  }

  private static Status status(Throwable failure) {
    return Failures.unwrap(failure) instanceof StatusRuntimeException sre ? sre.getStatus() : null;
  }

  @Override
  public void close() {
    clients.closeAll();
  }

}
