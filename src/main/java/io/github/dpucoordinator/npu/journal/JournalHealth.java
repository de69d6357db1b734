package io.github.dpucoordinator.npu.journal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether each journaled entity of this actor system can write its journal. An entity's write that the journal
 * does not confirm (a full disk, a database that is down or does not answer in time) makes the entity restart from
 * what the journal holds, with backoff; when it starts again with a write still unconfirmed, that is logged as one
 * line and shown by `status` until a write of that entity succeeds. Nothing it had journaled is lost, and what it had
 * not is done again.
 */
public final class JournalHealth implements Extension {
  private static final Logger log = LoggerFactory.getLogger("io.github.dpucoordinator.journal");
  private static final Id ID = new Id();

  /** An entity whose journal writes fail: since when (ms), how many restarts, and what was not written. */
  public record Failure(String entity, long since, int attempts, String cause) {}

  /** The first unconfirmed write of each entity: its first sequence number and when it was asked for. */
  private record Pending(long sequenceNumber, String event, long at) {}

  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  private final Map<String, Failure> failing = new ConcurrentHashMap<>();
  private final List<Watcher> watchers = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Told of each write the journal confirmed: the entity, its events, and how long the journal took (ns). */
  public interface Watcher {
    void written(String entity, List<?> events, long nanos);
  }

  public static JournalHealth get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  public List<Failure> failures() {
    return List.copyOf(failing.values());
  }

  /** {@code watcher} is told of every confirmed write of this actor system's entities from now on (the metrics). */
  public void watch(Watcher watcher) {
    watchers.add(watcher);
  }

  /** One entity's writes. */
  public Entity of(String entity) {
    return new Entity(entity);
  }

  private void failed(String entity, String cause, long since) {
    long now = System.currentTimeMillis();
    Failure f = failing.merge(entity, new Failure(entity, since, 1, cause),
        (old, neu) -> new Failure(entity, old.since(), old.attempts() + 1, neu.cause()));
    log.error("[campaign=- dpu=all] JOURNAL WRITE FAILED for {}: {} (restart {}, failing for {} s); it goes on from what the journal "
        + "holds once it can write again, nothing journaled is lost", entity, f.cause(), f.attempts(), (now - f.since()) / 1000);
  }

  private static String cause(Pending p) {
    return "event #" + p.sequenceNumber() + " (" + p.event() + ") was not confirmed by the journal";
  }

  /** The writes of one entity. */
  public final class Entity {
    private final String name;

    private Entity(String name) {
      this.name = name;
    }

    /** A write of events from {@code sequenceNumber} on is asked for. */
    public void writing(long sequenceNumber, String event) {
      pending.putIfAbsent(name, new Pending(sequenceNumber, event, System.currentTimeMillis()));
    }

    /** The entity recovered: a write it had asked for before it restarted was not confirmed, i.e. failed. */
    public void recovered() {
      Pending left = pending.get(name);
      if (left != null) {
        failed(name, cause(left) + " (the journal's error is logged above)", left.at());
      }
    }

    /** The entity could not even read its journal (it restarts with backoff and tries again). */
    public void recoveryFailed(Throwable failure) {
      Pending left = pending.get(name);
      failed(name, "cannot read the journal: " + io.github.dpucoordinator.common.Failures.describe(failure)
          + (left == null ? "" : "; " + cause(left)), left == null ? System.currentTimeMillis() : left.at());
    }

    /** {@code write}, the persist of {@code event} as the entity's event #{@code sequenceNumber}, noted here until it is confirmed. */
    public <E, S> org.apache.pekko.persistence.typed.javadsl.EffectBuilder<E, S> track(long sequenceNumber, Object event,
        org.apache.pekko.persistence.typed.javadsl.EffectBuilder<E, S> write) {
      long asked = System.nanoTime();
      writing(sequenceNumber, event.getClass().getSimpleName());
      return write.thenRun(x -> written(List.of(event), System.nanoTime() - asked));
    }

    /** The journal confirmed this entity's write of {@code events}, asked for {@code nanos} ago. */
    public void written(List<?> events, long nanos) {
      for (Watcher w : watchers) {
        try {
          w.written(name, events, nanos);
        } catch (RuntimeException e) { // a watcher (the metrics) never fails the entity's write
          log.warn("[campaign=- dpu=all] a journal watcher failed on {}'s write: {}", name, e.toString());
        }
      }
      pending.remove(name);
      Failure f = failing.remove(name);
      if (f != null) {
        log.warn("[campaign=- dpu=all] journal writes of {} succeed again after {} s ({} restart(s))", name,
            (System.currentTimeMillis() - f.since()) / 1000, f.attempts());
      }
    }
  }

  private static final class Id extends ExtensionId<JournalHealth> {
    @Override
    public JournalHealth createExtension(ActorSystem<?> system) {
      return new JournalHealth();
    }
  }
}
