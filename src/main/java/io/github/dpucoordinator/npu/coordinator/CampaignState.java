package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.npu.journal.JournalEvent;
import java.util.List;

/**
 * The campaign entity's state: one type per phase of seed 000's NPU state machine, so the entity's command handlers
 * are chosen by the state the campaign is in ({@code forStateType}), not by checking a phase field by hand. Each holds
 * the campaign in flight (none when {@link Idle}) and the rest of the record ({@link #flat}): the last campaign,
 * recent ones, history lines. Events are folded by {@link CoordinatorState#apply}, which is also the form snapshots
 * are written in (the entity's snapshot adapter converts), so the journal's format does not depend on these types.
 */
public sealed interface CampaignState {

  /** The same state as one record, with its phase as a field: how it is folded and snapshotted. */
  CoordinatorState flat();

  record Idle(CoordinatorState flat) implements CampaignState {}

  record PrepareForReboot(CoordinatorState flat) implements CampaignState {}

  record NotifyDpus(CoordinatorState flat) implements CampaignState {}

  record WaitForAcknowledgments(CoordinatorState flat) implements CampaignState {}

  record ProceedWithReboot(CoordinatorState flat) implements CampaignState {}

  record ErrorLogging(CoordinatorState flat) implements CampaignState {}

  record Reboot(CoordinatorState flat) implements CampaignState {}

  record PostReboot(CoordinatorState flat) implements CampaignState {}

  static CampaignState empty() {
    return of(CoordinatorState.empty());
  }

  /** The state type of {@code flat}'s phase. */
  static CampaignState of(CoordinatorState flat) {
    switch (flat.phase()) {
      case PREPARE_FOR_REBOOT:
        return new PrepareForReboot(flat);
      case NOTIFY_DPUS:
        return new NotifyDpus(flat);
      case WAIT_FOR_ACKNOWLEDGMENTS:
        return new WaitForAcknowledgments(flat);
      case PROCEED_WITH_REBOOT:
        return new ProceedWithReboot(flat);
      case ERROR_LOGGING:
        return new ErrorLogging(flat);
      case REBOOT:
        return new Reboot(flat);
      case POST_REBOOT:
        return new PostReboot(flat);
      default:
        return new Idle(flat);
    }
  }

  /** The state after {@code event}. */
  default CampaignState apply(JournalEvent event, int historyPerDpu, int recentCampaigns) {
    return of(flat().apply(event, historyPerDpu, recentCampaigns));
  }

  /** The state after {@code events}, in order. */
  default CampaignState applyAll(List<CampaignEvent> events, int historyPerDpu, int recentCampaigns) {
    return of(flat().applyAll(events, historyPerDpu, recentCampaigns));
  }

  default Phase phase() {
    return flat().phase();
  }

  /** The campaign in flight; null in {@link Idle}. */
  default Campaign current() {
    return flat().current();
  }

  default Campaign last() {
    return flat().last();
  }

  default boolean isCurrent(String campaignId) {
    return flat().isCurrent(campaignId);
  }

  default boolean hasLegacy() {
    return flat().hasLegacy();
  }
}
