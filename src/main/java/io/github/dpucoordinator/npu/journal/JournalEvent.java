package io.github.dpucoordinator.npu.journal;

import io.github.dpucoordinator.common.CborSerializable;

/**
 * What the NPU's event-sourced entities journal: a campaign's events, a module transition's, a DPU-initiated reboot's.
 * {@code campaignId} is the id of the thing the event belongs to (a campaign, a transition, a notice), named so since
 * the first journals.
 */
public interface JournalEvent extends CborSerializable {
  String campaignId();

  long atMillis();
}
