package io.github.dpucoordinator.npu.transport;

import io.github.dpucoordinator.common.Deadline;
import io.github.dpucoordinator.proto.reboot.GetStateRequest;
import io.github.dpucoordinator.proto.reboot.GetStateResponse;
import io.github.dpucoordinator.proto.reboot.RebootKind;
import io.github.dpucoordinator.proto.reboot.RebootRequest;
import io.github.dpucoordinator.proto.reboot.RebootServiceClient;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The seed's RebootService (with its extensions) as a {@link DpuTransport}: campaign ids, long polls. One client (one HTTP/2
 * connection) per DPU, created on first use and replaced if pekko-grpc gave up on it.
 */
public final class RebootServiceTransport implements DpuTransport {
  private final java.time.Clock clock;
  private final Clients<RebootServiceClient> clients;

  /** {@code callDeadline} bounds every call on the wire, as a safety net behind the per-call timeouts. */
  public RebootServiceTransport(ActorSystem<?> system, Duration callDeadline, java.time.Clock clock) {
    this(system, callDeadline, clock, DpuTls.plaintext());
  }

  /** {@code tls}: how each DPU is reached (plaintext, TLS, skip-verify, with a client certificate). */
  public RebootServiceTransport(ActorSystem<?> system, Duration callDeadline, java.time.Clock clock, DpuTls tls) {
    this.clock = clock;
    this.clients = new Clients<>(dpu -> RebootServiceClient.create(tls.client(system, dpu, callDeadline), system),
        c -> c.closed().toCompletableFuture().isDone(), RebootServiceClient::close);
  }

  @Override
  public CompletionStage<SignalReply> signal(DpuEndpoint dpu, SignalRequest r, Duration timeout) {
    RebootRequest request = RebootRequest.newBuilder()
        .setSignal("reboot")
        .setCampaignId(r.campaignId())
        .setKind(switch (r.kind()) {
          case "warm" -> RebootKind.WARM;
          case "power-off" -> RebootKind.POWER_OFF;
          default -> RebootKind.COLD;
        })
        .setReason(r.reason())
        .setDeadlineUnixMs(r.deadlineMillis())
        .setForce(r.force())
        .build();
    RebootServiceClient client = clients.of(dpu);
    return clients.renewIfUnreached(dpu, client, Deadline.within(client.sendRebootSignal(request), timeout,
            "SendRebootSignal to " + dpu.id() + " at " + dpu.host() + ":" + dpu.port()))
        .thenApply(resp -> resp.getDisposition() == io.github.dpucoordinator.proto.reboot.Disposition.REFUSED
            // nothing started: the DPU is in a protective state, which it names; the DPU's actor asks again later
            ? new SignalReply(Disposition.PROTECTIVE, r.campaignId(), State.named(resp.getState().name()), -1,
                DpuTransport.protective(resp.getProtective(), resp.getProtectiveReason()))
            : new SignalReply(disposition(resp.getDisposition()), resp.getCampaignId(), State.named(resp.getState().name()),
            resp.getVersion() > 0 ? resp.getVersion() : -1, resp.getAck(), resp.getDeferUntilUnixMs(), resp.getDeferReason()));
  }

  /** A DPU that speaks only the seed's fields (no disposition) took the signal: the seed's ack is its only answer. */
  private static Disposition disposition(io.github.dpucoordinator.proto.reboot.Disposition d) {
    return switch (d) {
      case IN_PROGRESS -> Disposition.IN_PROGRESS;
      case ALREADY_COMPLETE -> Disposition.ALREADY_COMPLETE;
      case DEFERRED -> Disposition.DEFERRED;
      case REFUSED -> Disposition.PROTECTIVE;
      default -> Disposition.STARTED;
    };
  }

  @Override
  public CompletionStage<Observation> observe(DpuEndpoint dpu, String campaignId, Evidence evidence, long knownVersion, Duration wait,
      Duration timeout) {
    GetStateRequest request = GetStateRequest.newBuilder().setKnownVersion(knownVersion).setWaitMs(wait.toMillis()).build();
    RebootServiceClient client = clients.of(dpu);
    return clients.renewIfUnreached(dpu, client, Deadline.within(client.getState(request), timeout,
            "GetState of " + dpu.id() + " at " + dpu.host() + ":" + dpu.port()))
        .thenApply(this::toObservation);
  }

  private Observation toObservation(GetStateResponse s) {
    String failed = s.getStepsList().stream().filter(st -> !st.getOk())
        .map(st -> st.getName() + ": " + st.getDetail()).collect(Collectors.joining("; "));
    String protective = DpuTransport.protective(s.getProtective(), s.getProtectiveReason());
    return new Observation(State.named(s.getState().name()), s.getVersion(), s.getCompletedCampaignsList(), s.getDegraded(), failed, s.getBootId(),
        "", false, protective, s.getDeferUntilUnixMs() > clock.millis()
            ? "deferring host reboots until " + java.time.Instant.ofEpochMilli(s.getDeferUntilUnixMs()) + ": " + s.getDeferReason() : "");
  }

  @Override
  public void close() {
    clients.closeAll();
  }
}
