package io.github.dpucoordinator.npu.chassis;

import io.github.dpucoordinator.npu.coordinator.Coordinator;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.StartReply;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.pattern.StatusReply;

/**
 * The chassis' admission of requests, one at a time: a request that could break a rule between the entities is handed to
 * its entity only after the one before it has been journaled or refused, so two never pass on the same stale state.
 * Requests wait in order in a stash meanwhile, and all of them wait until the chassis is ready; only questions (status,
 * plan, asking a DPU) pass what waits. Not an actor: it lives in the chassis and runs on its thread.
 */
final class Admissions {

  /** An admitted request was journaled or refused by its entity: {@code deliver} passes its answer on. */
  record Admitted(Runnable deliver) implements Command {}

  private final ActorContext<Command> ctx;
  private final StashBuffer<Command> stash;
  private final Duration askTimeout;
  private final BooleanSupplier ready;
  /** Admitted requests whose entity has not answered yet: while any is, the next one waits. */
  private int admitting;
  /** A request taken from the stash is being handled: it goes first, not behind the ones still there. */
  private boolean replaying;

  Admissions(ActorContext<Command> ctx, StashBuffer<Command> stash, Duration askTimeout, BooleanSupplier ready) {
    this.ctx = ctx;
    this.stash = stash;
    this.askTimeout = askTimeout;
    this.ready = ready;
  }

  /**
   * Keeps {@code c} for later (and says so) if it must wait: the chassis is not ready, it is an {@code admission} while
   * another is open, or it is not a {@code question} and others wait before it.
   */
  boolean waits(Command c, boolean admission, boolean question) {
    if (!ready.getAsBoolean() || (admission && admitting > 0) || (!question && !replaying && !stash.isEmpty())) {
      stash.stash(c);
      return true;
    }
    return false;
  }

  /** Its entity answered an admitted request: the answer goes on and the next request may go. */
  Behavior<Command> onAdmitted(Admitted a, Behavior<Command> chassis) {
    a.deliver().run();
    admitting--;
    return next(chassis);
  }

  /** Whatever waited and may go now, one at a time, handled by {@code chassis}. */
  Behavior<Command> next(Behavior<Command> chassis) {
    boolean was = replaying;
    replaying = true;
    try {
      while (ready.getAsBoolean() && admitting == 0 && !stash.isEmpty()) {
        stash.unstash(chassis, 1, Function.identity());
      }
    } finally {
      replaying = was;
    }
    return chassis;
  }

  /**
   * Hands {@code request} to {@code entity} as an admission: nothing else that could break a rule goes through until it
   * answers (or does not within {@code npu.admin.ask-timeout}: then {@code unanswered} makes the caller's answer, null
   * for none).
   */
  <R> void admit(Class<R> replyType, ActorRef<Command> entity, Function<ActorRef<R>, Command> request, ActorRef<? super R> replyTo,
      Function<String, R> unanswered) {
    admitting++;
    ctx.ask(replyType, entity, askTimeout, request::apply, (reply, failure) -> admitted(reply, failure, replyTo, unanswered));
  }

  /**
   * {@link #admit} for the campaign entity, whose answers are {@link StatusReply}s: a refusal ({@link Coordinator.Refused})
   * becomes the API's "not accepted", with the campaign in flight if that is why.
   */
  void admitWithStatus(ActorRef<Command> campaigns, Function<ActorRef<StatusReply<StartReply>>, Command> request, ActorRef<StartReply> replyTo) {
    admitting++;
    ctx.askWithStatus(StartReply.class, campaigns, askTimeout, request::apply,
        (reply, failure) -> admitted(reply, failure, replyTo, why -> failure instanceof Coordinator.Refused r
            ? new StartReply(false, r.campaignId(), r.getMessage()) : unanswered(why)));
  }

  static StartReply unanswered(String why) {
    return new StartReply(false, "", why);
  }

  private <R> Admitted admitted(R reply, Throwable failure, ActorRef<? super R> replyTo, Function<String, R> unanswered) {
    return new Admitted(() -> {
      R answer = reply != null ? reply : unanswered.apply("no answer within " + askTimeout.toSeconds()
          + " s (dpu-coordinator.npu.admin.ask-timeout): " + failure);
      if (answer != null) {
        replyTo.tell(answer);
      }
    });
  }
}
