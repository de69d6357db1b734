package io.github.dpucoordinator.agent.notice;

import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;

/** What {@link RebootNegotiator} accepts and answers (named {@code RebootNegotiator.X} by its users). */
public interface RebootNegotiatorProtocol {
  interface Command {}

  /** {@code deadlineMs} 0 = reboot-notice.default-deadline. */
  record RequestReboot(String reason, long deadlineMs, ActorRef<Reply> replyTo) implements Command {}

  record GetNotice(ActorRef<Reply> replyTo) implements Command {}
  /** {@code noticeId} empty = the notice in flight; {@code identity} is the caller's, as its request header says. */
  record Postpone(String noticeId, String identity, long untilMillis, String reason, ActorRef<PostponeReply> replyTo)
      implements Command {}

  /** {@code notice} empty: none since the agent started. */
  record Reply(boolean accepted, String message, Optional<RebootNotice> notice) {}
  record PostponeReply(boolean accepted, long postponedUntilMillis, String message) {}
}
