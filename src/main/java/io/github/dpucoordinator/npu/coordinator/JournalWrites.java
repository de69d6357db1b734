package io.github.dpucoordinator.npu.coordinator;

import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.function.LongSupplier;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every write of the coordinator goes through here, so that once the journal has confirmed a write its
 * sequence numbers are logged (logger {@code io.github.dpucoordinator.journal}, DEBUG). A crash test compares
 * those numbers with what a restarted service recovers: a confirmed event must never be missing.
 */
final class JournalWrites {
  private static final Logger log = LoggerFactory.getLogger("io.github.dpucoordinator.journal");

  private final EffectFactories<CampaignEvent, CoordinatorState> effects;
  private final LongSupplier lastSequenceNumber;

  JournalWrites(EffectFactories<CampaignEvent, CoordinatorState> effects, LongSupplier lastSequenceNumber) {
    this.effects = effects;
    this.lastSequenceNumber = lastSequenceNumber;
  }

  EffectBuilder<CampaignEvent, CoordinatorState> persist(CampaignEvent event) {
    return persist(List.of(event));
  }

  EffectBuilder<CampaignEvent, CoordinatorState> persist(List<CampaignEvent> events) {
    return effects.persist(events).thenRun(state -> confirmed(events));
  }

  EffectBuilder<CampaignEvent, CoordinatorState> none() {
    return effects.none();
  }

  private void confirmed(List<CampaignEvent> events) {
    if (!log.isDebugEnabled()) {
      return;
    }
    long last = lastSequenceNumber.getAsLong();
    long seq = last - events.size() + 1;
    for (CampaignEvent e : events) {
      log.debug("[campaign={} dpu={}] journaled #{} {}", e.campaignId(), dpuOf(e), seq++, e.getClass().getSimpleName());
    }
  }

  /** The event's DPU, for the log line: its {@code dpuId} component, else "all". */
  private static String dpuOf(CampaignEvent e) {
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
