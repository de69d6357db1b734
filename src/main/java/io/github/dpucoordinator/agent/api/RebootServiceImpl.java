package io.github.dpucoordinator.agent.api;

import io.github.dpucoordinator.agent.machine.AgentSnapshot;
import io.github.dpucoordinator.agent.machine.AgentState;
import io.github.dpucoordinator.agent.machine.Disposition;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.machine.Holds;
import io.github.dpucoordinator.agent.notice.NpuContact;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.Asks;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.proto.reboot.DpuState;
import io.github.dpucoordinator.proto.reboot.GetStateRequest;
import io.github.dpucoordinator.proto.reboot.GetStateResponse;
import io.github.dpucoordinator.proto.reboot.RebootKind;
import io.github.dpucoordinator.proto.reboot.RebootRequest;
import io.github.dpucoordinator.proto.reboot.RebootResponse;
import io.github.dpucoordinator.proto.reboot.RebootService;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;

/**
 * Translates the seed's RebootService (plus its extensions) into {@link DpuAgent} messages. A signal
 * is a host reboot: a deferral answers it DEFERRED unless {@code force} is set.
 */
public final class RebootServiceImpl implements RebootService {
  /** Longest long poll a client may ask for; longer ones are refused rather than silently cut. */
  static final long MAX_WAIT_MS = 300_000;

  private final ActorRef<DpuAgent.Command> agent;
  private final ActorSystem<?> system;
  private final Asks.Bound asks;

  private final NpuContact contact;

  public RebootServiceImpl(ActorRef<DpuAgent.Command> agent, ActorSystem<?> system) {
    this(agent, system, new NpuContact(java.time.Clock.systemUTC()));
  }

  public RebootServiceImpl(ActorRef<DpuAgent.Command> agent, ActorSystem<?> system, NpuContact contact) {
    this.agent = agent;
    this.system = system;
    this.asks = new Asks.Bound(system, system.settings().config().getDuration(AgentSettings.ASK_TIMEOUT), AgentSettings.ASK_TIMEOUT);
    this.contact = contact;
  }

  @Override
  public CompletionStage<RebootResponse> sendRebootSignal(RebootRequest in) {
    contact.seen("reboot-service");
    if (in.getKind() == RebootKind.UNRECOGNIZED) {
      return failed(Status.INVALID_ARGUMENT.withDescription("unknown reboot kind " + in.getKindValue()));
    }
    if (in.getDeadlineUnixMs() < 0) {
      return failed(Status.INVALID_ARGUMENT.withDescription("deadline_unix_ms must not be negative"));
    }
    String kind = switch (in.getKind()) {
      case WARM -> "warm";
      case POWER_OFF -> "power-off";
      default -> "cold";
    };
    String reason = in.getReason().isEmpty() ? in.getSignal() : in.getReason();
    CompletionStage<DpuAgent.SignalOutcome> outcome = asks.ask(agent,
        replyTo -> new DpuAgent.Signal(in.getCampaignId(), DpuAgent.Method.SIGNAL, kind, reason, in.getDeadlineUnixMs(),
            Duration.ZERO, in.getForce(), replyTo));
    return outcome.thenApply(o -> RebootResponse.newBuilder()
        .setAck(o.ack())
        .setDisposition(io.github.dpucoordinator.proto.reboot.Disposition.valueOf(o.disposition().name()))
        .setCampaignId(o.campaignId())
        .setState(toProto(o.state()))
        .setVersion(o.version())
        .setDeferUntilUnixMs(o.disposition() == Disposition.DEFERRED ? o.deferUntilMillis() : 0)
        .setDeferReason(o.disposition() == Disposition.DEFERRED ? o.detail() : "")
        .setProtective(o.disposition() == Disposition.REFUSED ? o.protective() : "")
        .setProtectiveReason(o.disposition() == Disposition.REFUSED ? o.protectiveReason() : "")
        .build());
  }

  @Override
  public CompletionStage<GetStateResponse> getState(GetStateRequest in) {
    contact.seen("reboot-service");
    if (in.getWaitMs() < 0 || in.getWaitMs() > MAX_WAIT_MS) {
      return failed(Status.INVALID_ARGUMENT.withDescription("wait_ms must be between 0 and " + MAX_WAIT_MS));
    }
    Duration wait = Duration.ofMillis(in.getWaitMs());
    CompletionStage<AgentSnapshot> snapshot = Asks.ask(system, agent, replyTo -> new DpuAgent.GetState(in.getKnownVersion(), wait, replyTo),
        wait.plus(asks.timeout()), AgentSettings.ASK_TIMEOUT + " (+ the long poll's wait)");
    return snapshot.thenApply(RebootServiceImpl::toProto);
  }

  static GetStateResponse toProto(AgentSnapshot s) {
    Holds h = s.holds();
    GetStateResponse.Builder b = GetStateResponse.newBuilder()
        .setDpuId(s.dpuId())
        .setState(toProto(s.state()))
        .setVersion(s.version())
        .setCampaignId(s.campaignId())
        .setLastCompletedCampaign(s.completedCampaigns().isEmpty() ? "" : s.completedCampaigns().get(s.completedCampaigns().size() - 1))
        .addAllCompletedCampaigns(s.completedCampaigns())
        .setDegraded(s.degraded())
        .setShutdownRuns(s.shutdownRuns())
        .setBootId(s.bootId())
        .setSinceUnixMs(s.sinceMillis())
        .setProtective(h.protective())
        .setProtectiveReason(h.protectiveReason())
        .setProtectiveSinceUnixMs(h.protectiveSince())
        .setSafeToPowerOff(s.safeToPowerOff())
        .setDeferUntilUnixMs(h.deferUntil())
        .setDeferReason(h.deferReason());
    for (StepResult r : s.steps()) {
      b.addSteps(io.github.dpucoordinator.proto.reboot.StepResult.newBuilder()
          .setName(r.name()).setOk(r.ok()).setDetail(r.detail()).setMillis(r.millis()));
    }
    return b.build();
  }

  static DpuState toProto(AgentState state) {
    return DpuState.valueOf(state.name());
  }

  private static <T> CompletionStage<T> failed(Status status) {
    return CompletableFuture.failedFuture(new GrpcServiceException(status));
  }
}
