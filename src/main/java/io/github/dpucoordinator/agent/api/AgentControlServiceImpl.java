package io.github.dpucoordinator.agent.api;

import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.machine.Holds;
import io.github.dpucoordinator.agent.notice.NpuContact;
import io.github.dpucoordinator.agent.notice.RebootNegotiator;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.Asks;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlPowerApi;
import io.github.dpucoordinator.proto.agentctl.GetRebootNoticeRequest;
import io.github.dpucoordinator.proto.agentctl.HoldStatus;
import io.github.dpucoordinator.proto.agentctl.PostponeRebootRequest;
import io.github.dpucoordinator.proto.agentctl.PostponeRebootResponse;
import io.github.dpucoordinator.proto.agentctl.RebootNoticeStatus;
import io.github.dpucoordinator.proto.agentctl.RequestRebootRequest;
import io.github.dpucoordinator.proto.agentctl.SetHoldRequest;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import io.github.dpucoordinator.common.tls.PeerAuth;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's own control API ({@code dpuctl dpu-reboot}, {@code dpu-hold}, {@code dpu-postpone}): holds
 * go to the {@link DpuAgent}, DPU-initiated reboots to the {@link RebootNegotiator}. Implemented as the
 * "power API" because PostponeReboot needs the caller's identity, the {@value #IDENTITY_HEADER} header.
 */
public final class AgentControlServiceImpl implements DpuAgentControlPowerApi {
  /** Who is calling, as the caller says: honoured only on a plaintext loopback server that allows it (agent.tls.allow-identity-header). */
  public static final String IDENTITY_HEADER = "dpu-coordinator-identity";

  private static final Logger log = LoggerFactory.getLogger(AgentControlServiceImpl.class);
  private final ActorRef<DpuAgent.Command> agent;
  private final ActorRef<RebootNegotiator.Command> negotiator;
  private final ActorSystem<?> system;
  private final Asks.Bound asks;
  private final String dpuId;

  private final NpuContact contact;
  private final boolean headerHonoured;
  private final java.util.function.Predicate<String> mayPostpone;

  public AgentControlServiceImpl(String dpuId, ActorRef<DpuAgent.Command> agent, ActorRef<RebootNegotiator.Command> negotiator,
      ActorSystem<?> system, NpuContact contact, boolean headerHonoured, java.util.function.Predicate<String> mayPostpone) {
    this.mayPostpone = mayPostpone;
    this.contact = contact;
    this.headerHonoured = headerHonoured;
    this.dpuId = dpuId;
    this.agent = agent;
    this.negotiator = negotiator;
    this.system = system;
    this.asks = new Asks.Bound(system, system.settings().config().getDuration(AgentSettings.ASK_TIMEOUT), AgentSettings.ASK_TIMEOUT);
  }

  @Override
  public CompletionStage<RebootNoticeStatus> requestReboot(RequestRebootRequest in, Metadata metadata) {
    return asks.<RebootNegotiator.Command, RebootNegotiator.Reply>ask(negotiator,
        replyTo -> new RebootNegotiator.RequestReboot(in.getReason(), in.getDeadlineMs(), replyTo))
        .thenApply(this::toProto);
  }

  @Override
  public CompletionStage<RebootNoticeStatus> getRebootNotice(GetRebootNoticeRequest in, Metadata metadata) {
    return asks.<RebootNegotiator.Command, RebootNegotiator.Reply>ask(negotiator, RebootNegotiator.GetNotice::new).thenApply(this::toProto);
  }

  @Override
  public CompletionStage<PostponeRebootResponse> postponeReboot(PostponeRebootRequest in, Metadata metadata) {
    String identity = identity(metadata);
    return asks.<RebootNegotiator.Command, RebootNegotiator.PostponeReply>ask(negotiator,
        replyTo -> new RebootNegotiator.Postpone(in.getNoticeId(), identity, in.getUntilUnixMs(), in.getReason(), replyTo))
        .thenApply(r -> PostponeRebootResponse.newBuilder().setAccepted(r.accepted()).setPostponedUntilUnixMs(r.postponedUntilMillis())
            .setMessage(r.message()).build());
  }

  /**
   * The caller's identity: its certificate's (mutual TLS; the first allowed to postpone, if any is), else the
   * {@value #IDENTITY_HEADER} header where honoured (logged as unauthenticated), else none.
   */
  private String identity(Metadata metadata) {
    java.util.List<String> certified = PeerAuth.identities(metadata);
    if (!certified.isEmpty()) {
      return certified.stream().filter(mayPostpone).findFirst().orElse(certified.get(0));
    }
    String said = metadata.getText(IDENTITY_HEADER).orElse("");
    if (said.isEmpty()) {
      return "";
    }
    if (!headerHonoured) {
      log.warn("[dpu={}] PostponeReboot: the {} header ({}) is ignored: identities come from client certificates here, or the header is "
          + "not allowed (dpu-coordinator.agent.tls.allow-identity-header, plaintext on loopback only)", dpuId, IDENTITY_HEADER, said);
      return "";
    }
    log.info("[dpu={}] PostponeReboot by {} as the {} header says (unauthenticated: plaintext loopback)", dpuId, said, IDENTITY_HEADER);
    return said;
  }

  @Override
  public CompletionStage<HoldStatus> setHold(SetHoldRequest in, Metadata metadata) {
    return asks.<DpuAgent.Command, Holds.Change>ask(agent,
        replyTo -> new DpuAgent.SetHold(in.getHold().strip(), in.getReason(), in.getDurationMs(), replyTo))
        .thenApply(c -> {
          Holds h = c.holds();
          return HoldStatus.newBuilder().setAccepted(c.accepted()).setMessage(c.message() + deferNote(h))
              .setProtective(h.protective()).setProtectiveReason(h.protectiveReason())
              .setProtectiveSinceUnixMs(h.protectiveSince()).setProtectiveUntilUnixMs(h.protectiveUntil())
              .setDeferUntilUnixMs(h.deferUntil()).setDeferReason(h.deferReason()).build();
        });
  }

  /**
   * gNOI has no deferral: a deferral set while the NPU speaks gNOI to this DPU would be silently ignored by the
   * next campaign, so the answer says so.
   */
  private String deferNote(Holds h) {
    NpuContact.Seen seen = contact.last();
    if (h.deferUntil() <= contact.now()) {
      return "";
    }
    if (seen == null) {
      return "; note: only an NPU speaking the seed's RebootService honours a deferral (gNOI has none); no NPU has called yet";
    }
    if (seen.protocol().equals("gnoi")) {
      return "; WARNING: the NPU speaks gNOI to this DPU (last call " + io.github.dpucoordinator.common.UtcTime.of(seen.atMillis())
          + "), and gNOI has no deferral: its next campaign halts this DPU anyway";
    }
    return "";
  }

  private RebootNoticeStatus toProto(RebootNegotiator.Reply r) {
    RebootNoticeStatus.Builder b = RebootNoticeStatus.newBuilder().setAccepted(r.accepted()).setMessage(r.message()).setDpuId(dpuId);
    r.notice().ifPresent(n -> b.setNoticeId(n.id()).setState(n.phase().name()).setReason(n.reason())
        .setPlannedUnixMs(n.plannedAt()).setHardDeadlineUnixMs(n.hardDeadline()).setPostponedUntilUnixMs(n.postponedUntil())
        .setRounds(n.round()).addAllLog(n.log()).setWentWhy(n.wentWhy()));
    return b.build();
  }
}
