package io.github.dpucoordinator.npu;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Follows one DPU that said it is rebooting on its own until it is back: Listening after having been
 * seen down (unreachable or not Listening), or with a boot id other than the one it said it was
 * leaving (or, if it gave none, the first one it answered with). Then it tells the coordinator and stops; the coordinator bounds the wait with its own timer.
 */
final class ReturnWatch {
  private ReturnWatch() {}

  sealed interface Command {}

  private enum Poll implements Command { INSTANCE }

  private record Observed(DpuTransport.Observation observation, Throwable failure) implements Command {}

  static Behavior<Command> create(DpuEndpoint dpu, String noticeId, String leavingBootId, DpuTransport transport, Duration interval,
      Duration callTimeout, ActorRef<Coordinator.Command> coordinator) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      // The boot id the DPU said it is leaving; else the first one it answers with.
      String[] baseline = {leavingBootId.isEmpty() ? null : leavingBootId};
      boolean[] sawDown = {false};
      ctx.getSelf().tell(Poll.INSTANCE);
      return Behaviors.receive(Command.class)
          .onMessageEquals(Poll.INSTANCE, () -> {
            ctx.pipeToSelf(transport.observe(dpu, "", -1, Duration.ZERO, callTimeout), Observed::new);
            return Behaviors.same();
          })
          .onMessage(Observed.class, o -> {
            if (o.failure() != null || !o.observation().listening()) {
              sawDown[0] = true;
            } else {
              String bootId = o.observation().bootId() == null ? "" : o.observation().bootId();
              if (baseline[0] == null) {
                baseline[0] = bootId;
              }
              boolean restarted = !bootId.isEmpty() && !bootId.equals(baseline[0]);
              if (sawDown[0] || restarted) {
                coordinator.tell(new Coordinator.NoticeBack(dpu.id(), noticeId,
                    "Listening again" + (restarted ? " with a new boot id" : " after being seen down")));
                return Behaviors.stopped();
              }
            }
            timers.startSingleTimer(Poll.INSTANCE, interval);
            return Behaviors.same();
          })
          .build();
    }));
  }
}
