package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The acknowledgments of one campaign, collected in the style of the Pekko tutorial's {@code DeviceGroupQuery}: a child
 * of the campaign entity for the WaitForAcknowledgments phase, told after each journaled outcome which DPUs are still
 * unresolved, with a timeout at the journaled deadline. It tells the entity {@link AllIn} once none is unresolved, or
 * {@link AckDeadlines.Reached} when the deadline passes first; a later deadline (a deferral, a protective hold) comes
 * with the next {@link Progress}. The entity stops it when the phase ends, and watches it: one that stops otherwise is
 * started again from the journaled campaign. The entity decides on its journaled state, never on the collector's.
 */
final class AckCollector {
  private AckCollector() {}

  interface Msg {}

  /** These DPUs of the campaign are still unresolved, and the deadline is now {@code deadlineMillis}. */
  record Progress(Set<String> unresolved, long deadlineMillis) implements Msg {}

  /** Every DPU of campaign {@code campaignId} completed its shutdown or failed. */
  record AllIn(String campaignId) implements Command {}

  private enum Deadline implements Msg { INSTANCE }

  static Behavior<Msg> create(String campaignId, Progress first, Clock clock, ActorRef<Command> entity) {
    return Behaviors.withTimers(timers -> waiting(campaignId, first, clock, entity, timers, true));
  }

  private static Behavior<Msg> waiting(String campaignId, Progress now, Clock clock, ActorRef<Command> entity, TimerScheduler<Msg> timers,
      boolean deadlineChanged) {
    if (now.unresolved().isEmpty()) {
      timers.cancel(Deadline.INSTANCE);
      entity.tell(new AllIn(campaignId));
    } else if (deadlineChanged) {
      timers.startSingleTimer(Deadline.INSTANCE, Deadline.INSTANCE, Duration.ofMillis(Math.max(0, now.deadlineMillis() - clock.millis())));
    }
    return Behaviors.receive(Msg.class)
        .onMessage(Progress.class, p -> waiting(campaignId, p, clock, entity, timers, p.deadlineMillis() != now.deadlineMillis()))
        .onMessage(Deadline.class, d -> {
          entity.tell(new AckDeadlines.Reached(campaignId));
          return Behaviors.same(); // the entity may hold the campaign longer: a later deadline arms the timer again
        })
        .build();
  }
}
