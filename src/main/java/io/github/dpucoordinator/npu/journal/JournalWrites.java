package io.github.dpucoordinator.npu.journal;

import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every write of the NPU's entities goes through here, so that once the journal has confirmed a write its
 * sequence numbers are logged (logger {@code io.github.dpucoordinator.journal}, DEBUG). A crash test compares
 * those numbers with what a restarted service recovers: a confirmed event must never be missing. Then the entity's
 * new state goes to {@code changed} (the chassis' view of it), before anything the caller runs after the write.
 */
public final class JournalWrites<E extends JournalEvent, S> {
  private static final Logger log = LoggerFactory.getLogger("io.github.dpucoordinator.journal");

  private final EffectFactories<E, S> effects;
  private final LongSupplier lastSequenceNumber;
  private final Consumer<S> changed;
  private final JournalHealth.Entity health;

  /** {@code health}: told of each write asked for and each the journal confirmed ({@link JournalHealth}). */
  public JournalWrites(EffectFactories<E, S> effects, LongSupplier lastSequenceNumber, Consumer<S> changed, JournalHealth.Entity health) {
    this.effects = effects;
    this.lastSequenceNumber = lastSequenceNumber;
    this.changed = changed;
    this.health = health;
  }

  /** The entity recovered (its RecoveryCompleted signal): a write left unconfirmed by the last incarnation is reported. */
  public void recovered() {
    health.recovered();
  }

  /** Its RecoveryFailed signal. */
  public void recoveryFailed(org.apache.pekko.persistence.typed.RecoveryFailed signal) {
    health.recoveryFailed(signal.getFailure());
  }

  public EffectBuilder<E, S> persist(E event) {
    return persist(List.of(event));
  }

  public EffectBuilder<E, S> persist(List<? extends E> events) {
    List<E> all = List.copyOf(events);
    long asked = System.nanoTime();
    if (!all.isEmpty()) {
      health.writing(lastSequenceNumber.getAsLong() + 1, all.get(0).getClass().getSimpleName());
    }
    return effects.persist(all).thenRun(state -> {
      health.written(all, System.nanoTime() - asked);
      confirmed(all);
      changed.accept(state);
    });
  }

  /**
   * Takes over what a journal written before the split left for this entity, once: {@code adoption} is journaled unless
   * it was already ({@code adopted}); either way {@code replyTo} is told it is done, after {@code then} has run on a fresh one.
   */
  public EffectBuilder<E, S> adoptOnce(boolean adopted, E adoption, ActorRef<Done> replyTo, Consumer<S> then) {
    if (adopted) {
      return effects.none().thenRun(state -> replyTo.tell(Done.getInstance()));
    }
    return persist(adoption).thenRun(state -> {
      then.accept(state);
      replyTo.tell(Done.getInstance());
    });
  }

  public EffectBuilder<E, S> none() {
    return effects.none();
  }

  private void confirmed(List<E> events) {
    if (!log.isDebugEnabled()) {
      return;
    }
    long last = lastSequenceNumber.getAsLong();
    long seq = last - events.size() + 1;
    for (E e : events) {
      log.debug("[campaign={} dpu={}] journaled #{} {}", e.campaignId(), dpuOf(e), seq++, e.getClass().getSimpleName());
    }
  }

  /** The event's DPU, for the log line: its {@code dpuId} component, else "all". */
  private static String dpuOf(JournalEvent e) {
    for (RecordComponent c : e.getClass().getRecordComponents()) {
      if (c.getName().equals("dpuId")) {
        try {
          return String.valueOf(c.getAccessor().invoke(e));
        } catch (ReflectiveOperationException ignored) {
          return "all";
        }
      }
    }
    return "all";
  }
}
