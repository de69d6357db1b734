package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.dpu.DpuActor;
import io.github.dpucoordinator.npu.dpu.LinkReport;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The coordinator's commands and replies: what its APIs (admin, DPU notices, named pipe) and its collaborators and
 * links send it. {@link Coordinator} implements this, so each is also named {@code Coordinator.X}.
 */
public interface CoordinatorProtocol {

  /** What the coordinator accepts. */
  interface Command {}

  /** {@code force}: `reboot --force`, DPU deferrals are not honoured. */
  public record StartCampaign(String reason, String kind, boolean force, ActorRef<StartReply> replyTo) implements Command {
    public StartCampaign(String reason, String kind, ActorRef<StartReply> replyTo) {
      this(reason, kind, false, replyTo);
    }
  }

  /** A DPU announces (or re-announces, {@code round} > 1) a reboot of its own; answered with a {@link NoticeReply}. */
  public record NoticeReceived(String dpuId, String noticeId, String reason, long planned, long hardDeadline, int round,
      ActorRef<NoticeReply> replyTo) implements Command {}

  /** {@code error} non-empty: the notice was refused (unknown DPU, malformed); else ACK or POSTPONE until {@code until}. */
  public record NoticeReply(String error, String decision, long until, String reason, String responder) {
    static NoticeReply error(String message) {
      return new NoticeReply(message, "", 0, "", "");
    }
  }

  /** The DPU is rebooting now ({@code why}: acknowledged, hard deadline, ...). */
  public record GoingReceived(String dpuId, String noticeId, String why, String bootId, ActorRef<GoingReply> replyTo) implements Command {}

  public record GoingReply(boolean ok, String message, long expectBackBy) {}

  /** The DPU's own reboot was postponed on the DPU itself (dpu-postpone); answered with a {@link GoingReply}. */
  public record PostponedOnDpu(String dpuId, String noticeId, long untilMillis, String by, String reason, ActorRef<GoingReply> replyTo)
      implements Command {}

  /** A DPU that rebooted on its own is Listening again. */
  public record NoticeBack(String dpuId, String noticeId, String detail) implements Command {}

  /** The watcher saw a DPU go away, come back or restart ({@code what}). */
  public record WatchReport(String dpuId, String what, String detail) implements Command {}

  /** The hooks of one round finished. */
  record HooksDone(String dpuId, String noticeId, int round, List<StepResult> results) implements Command {}

  /** A notice's hard deadline (plus slack) passed: if the DPU has not said it went, it went. */
  record HardDeadline(String dpuId, String noticeId) implements Command {}

  /** The DPU was expected back by now. */
  record BackBy(String dpuId, String noticeId) implements Command {}

  record ForceDone(String campaignId, String dpuId, StepResult result) implements Command {}

  public record StartReply(boolean accepted, String campaignId, String message) {}

  public record GetStatus(ActorRef<StatusView> replyTo) implements Command {}

  /** Asks one DPU, through its actor, for its state now (read-only: `reboot --plan`). */
  public record AskDpu(String dpuId, ActorRef<DpuActor.Answer> replyTo, java.time.Duration timeout) implements Command {}

  /** A link's report about one DPU of one campaign. */
  public record FromLink(String campaignId, String dpuId, LinkReport report) implements Command {}


  /** `reboot --cancel`: ends a campaign that has not reached Reboot. */
  public record CancelCampaign(String reason, ActorRef<StartReply> replyTo) implements Command {}

  /** `reboot --plan`: what a campaign would do now, without doing anything. */
  public record GetPlan(boolean force, ActorRef<PlanView> replyTo) implements Command {
    public GetPlan(ActorRef<PlanView> replyTo) {
      this(false, replyTo);
    }
  }

  /** `chassis module shutdown|startup` of one DPU ({@code kind} is "shutdown" or "startup"). */
  public record ModuleCommand(String dpuId, String kind, String reason, boolean force, ActorRef<StartReply> replyTo) implements Command {
    public ModuleCommand(String dpuId, String kind, String reason, ActorRef<StartReply> replyTo) {
      this(dpuId, kind, reason, false, replyTo);
    }
  }

  /** Tells {@code replyTo} how transition {@code transitionId} of {@code dpuId} ended (at once if it already has). */
  public record WatchTransition(String dpuId, String transitionId, ActorRef<TransitionOutcome> replyTo) implements Command {}

  public record TransitionOutcome(String transitionId, String dpuId, String outcome, String detail) {}

  record ModuleAdvance(String dpuId, String transitionId) implements Command {}

  record ModulePowerDone(String dpuId, String transitionId, StepResult result) implements Command {}

  record ModuleBootTimeout(String dpuId, String transitionId) implements Command {}

  /** A startup of a DPU that is administratively up asked it first: {@code listening} says whether it answered Listening. */
  record StartupChecked(ModuleCommand command, boolean listening, String seen) implements Command {}
}
