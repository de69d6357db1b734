package io.github.dpucoordinator.agent.machine;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The agent's held state queries: a {@link DpuAgentProtocol.GetState} that knows the current version waits (up to its
 * {@code maxWait}) for the next one, and every waiter is answered once when the state changes.
 */
final class LongPolls {
  /** A held query's wait is over: it is answered with the state as it is. */
  record Expired(long waiterId) implements DpuAgentProtocol.Command {}

  private final TimerScheduler<DpuAgentProtocol.Command> timers;
  private final Map<Long, ActorRef<AgentSnapshot>> waiters = new HashMap<>();
  private long nextId;

  LongPolls(TimerScheduler<DpuAgentProtocol.Command> timers) {
    this.timers = timers;
  }

  /** Answers at once, or holds the query until the version moves on from {@code version} or its wait ends. */
  void ask(DpuAgentProtocol.GetState get, long version, Supplier<AgentSnapshot> snapshot) {
    if (get.maxWait().isZero() || get.maxWait().isNegative() || get.knownVersion() != version) {
      get.replyTo().tell(snapshot.get());
    } else {
      long id = nextId++;
      waiters.put(id, get.replyTo());
      timers.startSingleTimer(new Expired(id), new Expired(id), get.maxWait());
    }
  }

  void expired(Expired expired, Supplier<AgentSnapshot> snapshot) {
    ActorRef<AgentSnapshot> waiter = waiters.remove(expired.waiterId());
    if (waiter != null) {
      waiter.tell(snapshot.get());
    }
  }

  /** The state changed: every held query is answered with {@code snapshot}. */
  void publish(Supplier<AgentSnapshot> snapshot) {
    if (waiters.isEmpty()) {
      return;
    }
    AgentSnapshot now = snapshot.get();
    waiters.forEach((id, waiter) -> {
      timers.cancel(new Expired(id));
      waiter.tell(now);
    });
    waiters.clear();
  }
}
