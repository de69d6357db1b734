package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.npu.journal.JournalEvent;
import java.util.List;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;

/** What the coordinator's collaborators ask of it: journal and then enter the phase reached, or advance within it. */
interface Phases {
  /** Journal {@code events}, then run the side effects of the phase they lead to. */
  EffectBuilder<JournalEvent, CampaignState> persistThenEnter(List<CampaignEvent> events);

  /** Journal {@code events} (none: nothing), then see whether the phase is complete. */
  EffectBuilder<JournalEvent, CampaignState> persistThenAdvance(List<CampaignEvent> events);

  /** The side effects of the phase {@code s} is in; after a restart {@code recovered} is true. */
  void enter(CampaignState s, boolean recovered);

  /** See whether the phase is complete, once the messages already queued are handled. */
  void advance();
}
