package io.github.dpucoordinator.npu.api;

import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.common.Asks;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.proto.notice.Decision;
import io.github.dpucoordinator.proto.notice.DpuRebootNotice;
import io.github.dpucoordinator.proto.notice.DpuRebootNoticesPowerApi;
import io.github.dpucoordinator.common.tls.PeerAuth;
import java.util.Optional;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.github.dpucoordinator.proto.notice.NoticeAnswer;
import io.github.dpucoordinator.proto.notice.RebootGoingAck;
import io.github.dpucoordinator.proto.notice.RebootGoingNotice;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;

/**
 * What DPUs call to announce reboots of their own. A malformed notice or an unknown DPU is answered
 * INVALID_ARGUMENT with the reason; the answer to a valid one waits for the pre-DPU-reboot hooks.
 */
public final class DpuNoticeServiceImpl implements DpuRebootNoticesPowerApi {
  private final ActorRef<NpuProtocol.Command> coordinator;
  private final ActorSystem<?> system;
  private final Duration answerWithin;
  private final Duration askTimeout;
  private final java.util.Set<String> operators;
  private static final Logger log = LoggerFactory.getLogger(DpuNoticeServiceImpl.class);

  public DpuNoticeServiceImpl(ActorRef<NpuProtocol.Command> coordinator, ActorSystem<?> system, NpuSettings settings) {
    this(coordinator, system, settings, java.util.Set.of());
  }

  /** {@code operators}: identities (npu.dpu-api.tls.operators) that may speak for any DPU. */
  public DpuNoticeServiceImpl(ActorRef<NpuProtocol.Command> coordinator, ActorSystem<?> system, NpuSettings settings,
      java.util.Set<String> operators) {
    this.operators = operators;
    this.coordinator = coordinator;
    this.system = system;
    // The hooks fit in answer-within (checked at start); the journal writes get a little more.
    this.answerWithin = settings.negotiation().answerWithin().plusSeconds(5);
    this.askTimeout = settings.admin().askTimeout();
  }

  @Override
  public CompletionStage<NoticeAnswer> notifyReboot(DpuRebootNotice in, Metadata metadata) {
    if (in.getDpuId().isBlank()) {
      return invalid("dpu_id is required");
    }
    Optional<String> other = otherThan(metadata, in.getDpuId(), in.getNoticeId(), "NotifyReboot");
    if (other.isPresent()) {
      return denied(other.get(), in.getDpuId());
    }
    CompletionStage<NpuProtocol.NoticeReply> reply = Asks.ask(system, coordinator, r -> new NpuProtocol.NoticeReceived(in.getDpuId(),
        in.getNoticeId(), in.getReason(), in.getPlannedUnixMs(), in.getHardDeadlineUnixMs(), Math.max(1, in.getRound()), r),
        answerWithin, "dpu-coordinator.npu.dpu-reboot.answer-within (+ 5 s)");
    return reply.thenCompose(r -> r.error().isEmpty()
        ? CompletableFuture.completedFuture(NoticeAnswer.newBuilder()
            .setDecision(r.decision() == NpuProtocol.Decision.POSTPONE ? Decision.POSTPONE : Decision.ACK)
            .setPostponeUntilUnixMs(r.until()).setReason(r.reason()).setResponder(r.responder()).build())
        : invalid(r.error()));
  }

  @Override
  public CompletionStage<RebootGoingAck> rebootGoing(RebootGoingNotice in, Metadata metadata) {
    if (in.getDpuId().isBlank() || in.getNoticeId().isBlank()) {
      return invalid("dpu_id and notice_id are required");
    }
    Optional<String> other = otherThan(metadata, in.getDpuId(), in.getNoticeId(), "RebootGoing");
    if (other.isPresent()) {
      return denied(other.get(), in.getDpuId());
    }
    CompletionStage<NpuProtocol.GoingReply> reply = Asks.ask(system, coordinator,
        r -> new NpuProtocol.GoingReceived(in.getDpuId(), in.getNoticeId(), in.getWhy(), in.getBootId(), r), askTimeout,
        NpuSettings.Admin.ASK_TIMEOUT);
    return reply.thenCompose(r -> r.ok()
        ? CompletableFuture.completedFuture(RebootGoingAck.newBuilder().setMessage(r.message())
            .setExpectedBackByUnixMs(r.expectBackBy()).build())
        : invalid(r.message()));
  }

  @Override
  public CompletionStage<io.github.dpucoordinator.proto.notice.RebootPostponedAck> rebootPostponed(
      io.github.dpucoordinator.proto.notice.RebootPostponedNotice in, Metadata metadata) {
    if (in.getDpuId().isBlank() || in.getNoticeId().isBlank()) {
      return invalid("dpu_id and notice_id are required");
    }
    Optional<String> other = otherThan(metadata, in.getDpuId(), in.getNoticeId(), "RebootPostponed");
    if (other.isPresent()) {
      return denied(other.get(), in.getDpuId());
    }
    CompletionStage<NpuProtocol.GoingReply> reply = Asks.ask(system, coordinator, r -> new NpuProtocol.PostponedOnDpu(in.getDpuId(),
        in.getNoticeId(), in.getUntilUnixMs(), in.getBy(), in.getReason(), r), askTimeout, NpuSettings.Admin.ASK_TIMEOUT);
    return reply.thenCompose(r -> r.ok()
        ? CompletableFuture.completedFuture(io.github.dpucoordinator.proto.notice.RebootPostponedAck.newBuilder().setMessage(r.message()).build())
        : invalid(r.message()));
  }

  /**
   * Under mutual TLS a DPU may only speak for itself: its certificate must name the DPU the notice is about (an
   * operator's may name any). Without a client certificate (plaintext or TLS on the midplane) the notice is taken as is.
   * The caller's identity when it speaks for another DPU (logged), else empty.
   */
  private Optional<String> otherThan(Metadata metadata, String dpuId, String noticeId, String call) {
    java.util.List<String> ids = PeerAuth.identities(metadata);
    if (ids.isEmpty() || ids.contains(dpuId) || ids.stream().anyMatch(operators::contains)) {
      return Optional.empty();
    }
    log.warn("[notice={} dpu={}] {} refused: the caller's certificate is {}, not {}'s", noticeId.isEmpty() ? "new" : noticeId, dpuId, call,
        ids.get(0), dpuId);
    return Optional.of(ids.get(0));
  }

  private static <T> CompletionStage<T> denied(String caller, String dpuId) {
    return CompletableFuture.failedFuture(new GrpcServiceException(Status.PERMISSION_DENIED.withDescription(
        caller + " may not announce a reboot of " + dpuId + ": a DPU speaks only for itself")));
  }

  private static <T> CompletionStage<T> invalid(String message) {
    return CompletableFuture.failedFuture(new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription(message)));
  }
}
