package io.github.dpucoordinator.npu.api;

import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.common.Asks;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.proto.notice.Decision;
import io.github.dpucoordinator.proto.notice.DpuRebootNotice;
import io.github.dpucoordinator.proto.notice.DpuRebootNotices;
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
public final class DpuNoticeServiceImpl implements DpuRebootNotices {
  private final ActorRef<NpuProtocol.Command> coordinator;
  private final ActorSystem<?> system;
  private final Duration answerWithin;
  private final Duration askTimeout;

  public DpuNoticeServiceImpl(ActorRef<NpuProtocol.Command> coordinator, ActorSystem<?> system, NpuSettings settings) {
    this.coordinator = coordinator;
    this.system = system;
    // The hooks fit in answer-within (checked at start); the journal writes get a little more.
    this.answerWithin = settings.negotiation().answerWithin().plusSeconds(5);
    this.askTimeout = settings.admin().askTimeout();
  }

  @Override
  public CompletionStage<NoticeAnswer> notifyReboot(DpuRebootNotice in) {
    if (in.getDpuId().isBlank()) {
      return invalid("dpu_id is required");
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
  public CompletionStage<RebootGoingAck> rebootGoing(RebootGoingNotice in) {
    if (in.getDpuId().isBlank() || in.getNoticeId().isBlank()) {
      return invalid("dpu_id and notice_id are required");
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
      io.github.dpucoordinator.proto.notice.RebootPostponedNotice in) {
    if (in.getDpuId().isBlank() || in.getNoticeId().isBlank()) {
      return invalid("dpu_id and notice_id are required");
    }
    CompletionStage<NpuProtocol.GoingReply> reply = Asks.ask(system, coordinator, r -> new NpuProtocol.PostponedOnDpu(in.getDpuId(),
        in.getNoticeId(), in.getUntilUnixMs(), in.getBy(), in.getReason(), r), askTimeout, NpuSettings.Admin.ASK_TIMEOUT);
    return reply.thenCompose(r -> r.ok()
        ? CompletableFuture.completedFuture(io.github.dpucoordinator.proto.notice.RebootPostponedAck.newBuilder().setMessage(r.message()).build())
        : invalid(r.message()));
  }

  private static <T> CompletionStage<T> invalid(String message) {
    return CompletableFuture.failedFuture(new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription(message)));
  }
}
