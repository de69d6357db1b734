package io.github.dpucoordinator.npu.protocol;

import io.github.dpucoordinator.npu.dpu.DpuActor;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What the NPU service's APIs (admin, DPU notices, named pipe) ask of it, and the replies. The chassis
 * ({@code npu.chassis.Chassis}) takes every one of these and hands each to the entity that owns it: campaigns, module
 * transitions or DPU-initiated reboots. Each entity's own messages are its own.
 */
public interface NpuProtocol {

  /** What the NPU service accepts; each entity's commands are of this type too. */
  interface Command {}

  /** {@code force}: `reboot --force`, DPU deferrals are not honoured. */
  record StartCampaign(String reason, CampaignKind kind, boolean force, ActorRef<StartReply> replyTo) implements Command {
    public StartCampaign(String reason, CampaignKind kind, ActorRef<StartReply> replyTo) {
      this(reason, kind, false, replyTo);
    }
  }

  /** The answer to starting (or cancelling) a campaign or a module transition. */
  record StartReply(boolean accepted, String campaignId, String message) {}

  /** `reboot --cancel`: ends a campaign that has not reached Reboot. */
  record CancelCampaign(String reason, ActorRef<StartReply> replyTo) implements Command {}

  /** `chassis module shutdown|startup` of one DPU (the pipe adds halt, cold and warm). */
  record ModuleCommand(String dpuId, ModuleKind kind, String reason, boolean force, ActorRef<StartReply> replyTo) implements Command {
    public ModuleCommand(String dpuId, ModuleKind kind, String reason, ActorRef<StartReply> replyTo) {
      this(dpuId, kind, reason, false, replyTo);
    }
  }

  /** Tells {@code replyTo} how transition {@code transitionId} of {@code dpuId} ended (at once if it already has). */
  record WatchTransition(String dpuId, String transitionId, ActorRef<TransitionOutcome> replyTo) implements Command {}

  record TransitionOutcome(String transitionId, String dpuId, String outcome, String detail) {}

  /** A DPU announces (or re-announces, {@code round} > 1) a reboot of its own; answered with a {@link NoticeReply}. */
  record NoticeReceived(String dpuId, String noticeId, String reason, long planned, long hardDeadline, int round,
      ActorRef<NoticeReply> replyTo) implements Command {}

  /** What the NPU answers a DPU that announces its own reboot: go ahead, or wait until a time. */
  enum Decision {
    ACK, POSTPONE;

    /** As journaled: by name; "" (no answer yet, in notices journaled before this type) is none. */
    @com.fasterxml.jackson.annotation.JsonCreator
    public static Decision of(String name) {
      return name == null || name.isEmpty() ? null : valueOf(name);
    }
  }

  /** {@code error} non-empty: the notice was refused (unknown DPU, malformed; {@code decision} null); else ACK or POSTPONE until {@code until}. */
  record NoticeReply(String error, Decision decision, long until, String reason, String responder) {
    public static NoticeReply error(String message) {
      return new NoticeReply(message, null, 0, "", "");
    }
  }

  /** The DPU is rebooting now ({@code why}: acknowledged, hard deadline, ...). */
  record GoingReceived(String dpuId, String noticeId, String why, String bootId, ActorRef<GoingReply> replyTo) implements Command {}

  record GoingReply(boolean ok, String message, long expectBackBy) {}

  /** The DPU's own reboot was postponed on the DPU itself (dpu-postpone); answered with a {@link GoingReply}. */
  record PostponedOnDpu(String dpuId, String noticeId, long untilMillis, String by, String reason, ActorRef<GoingReply> replyTo)
      implements Command {}

  /** Asks one DPU, through its actor, for its state now (read-only: `reboot --plan`, the start-up probe). */
  record AskDpu(String dpuId, ActorRef<DpuActor.Answer> replyTo, java.time.Duration timeout) implements Command {}
}
