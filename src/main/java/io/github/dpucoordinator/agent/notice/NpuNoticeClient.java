package io.github.dpucoordinator.agent.notice;

import io.github.dpucoordinator.agent.settings.RebootNoticeSettings;
import io.github.dpucoordinator.common.Deadline;
import io.github.dpucoordinator.common.tls.ClientTls;
import io.github.dpucoordinator.common.tls.Identities;
import io.github.dpucoordinator.proto.notice.DpuRebootNotice;
import io.github.dpucoordinator.proto.notice.DpuRebootNoticesClient;
import io.github.dpucoordinator.proto.notice.NoticeAnswer;
import io.github.dpucoordinator.proto.notice.RebootGoingAck;
import io.github.dpucoordinator.proto.notice.RebootGoingNotice;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * The agent's client of the NPU's DpuRebootNotices API. Every call is bounded by notice-timeout, and a
 * client that gave up connecting (pekko-grpc closes it after its connection attempts) is replaced, so
 * an NPU that comes back during a negotiation is reached on the next retry.
 */
public final class NpuNoticeClient implements AutoCloseable {
  private final RebootNoticeSettings settings;
  private final ActorSystem<?> system;
  private final ClientTls tls;
  private final java.util.concurrent.atomic.AtomicReference<String> npuIdentity = new java.util.concurrent.atomic.AtomicReference<>("");
  private DpuRebootNoticesClient client;

  NpuNoticeClient(RebootNoticeSettings settings, ActorSystem<?> system, ClientTls tls) {
    this.settings = settings;
    this.system = system;
    this.tls = tls;
  }

  /** Where the agent's way to the NPU is configured. */
  public static final String NPU_TLS = "dpu-coordinator.agent.npu-tls";

  CompletionStage<NoticeAnswer> notifyReboot(DpuRebootNotice notice) {
    return Deadline.within(client().notifyReboot(notice), settings.noticeTimeout(), "the NPU's NotifyReboot at " + settings.npuAddress())
        .thenApply(answer -> {
          // over verified TLS the NPU is who its certificate says, whatever its answer calls it
          String certified = npuIdentity.get();
          return certified.isEmpty() ? answer : answer.toBuilder().setResponder(certified).build();
        });
  }

  CompletionStage<RebootGoingAck> rebootGoing(RebootGoingNotice going) {
    return Deadline.within(client().rebootGoing(going), settings.noticeTimeout(), "the NPU's RebootGoing at " + settings.npuAddress());
  }

  CompletionStage<io.github.dpucoordinator.proto.notice.RebootPostponedAck> rebootPostponed(
      io.github.dpucoordinator.proto.notice.RebootPostponedNotice postponed) {
    return Deadline.within(client().rebootPostponed(postponed), settings.noticeTimeout(), "the NPU's RebootPostponed at " + settings.npuAddress());
  }

  private synchronized DpuRebootNoticesClient client() {
    if (client == null || client.closed().toCompletableFuture().isDone()) {
      Duration deadline = settings.noticeTimeout();
      client = DpuRebootNoticesClient.create(tls.apply(GrpcClientSettings.connectToServiceAt(settings.npuHost(), settings.npuPort(), system)
          .withDeadline(deadline), settings.npuHost(), c -> npuIdentity.set(Identities.commonName(c))), system);
    }
    return client;
  }

  @Override
  public synchronized void close() {
    if (client != null) {
      client.close();
      client = null;
    }
  }

  /** INVALID_ARGUMENT from the NPU: it rejected this notice (e.g. an unknown DPU id), which a retry cannot change. */
  static boolean rejected(Throwable failure) {
    Throwable c = io.github.dpucoordinator.common.Failures.unwrap(failure);
    return c instanceof io.grpc.StatusRuntimeException sre && sre.getStatus().getCode() == io.grpc.Status.Code.INVALID_ARGUMENT;
  }

  /** Tells the NPU a postponement granted on the DPU; best effort (the next round tells it anyway), a failure is logged. */
  void tellPostponed(String dpuId, String noticeId, long until, String by, String reason) {
    rebootPostponed(io.github.dpucoordinator.proto.notice.RebootPostponedNotice.newBuilder().setDpuId(dpuId).setNoticeId(noticeId)
        .setUntilUnixMs(until).setBy(by).setReason(reason).build()).whenComplete((ack, failure) -> {
          if (failure != null) {
            org.slf4j.LoggerFactory.getLogger(RebootNegotiator.class).warn("[campaign={} dpu={}] could not tell the NPU of the "
                + "postponement: {}", noticeId, dpuId, failure.getMessage());
          }
        });
  }
}
