package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.common.StepResult;

/**
 * What is on record about a campaign's reboot action: how it returned ({@code returned}, null: not yet), whether its
 * return is journaled at all ({@code tracked}; false for a campaign from a journal written before it was), and the
 * boot on which a restarted service ran it again ({@code rerunOnBoot}, "" none), so that it is run again at most once.
 */
public record RebootAction(StepResult returned, boolean tracked, String rerunOnBoot) implements CborSerializable {
  static final RebootAction UNTRACKED = new RebootAction(null, false, "");

  public RebootAction {
    rerunOnBoot = rerunOnBoot == null ? "" : rerunOnBoot;
  }

  RebootAction returned(StepResult result) {
    return new RebootAction(result, tracked, rerunOnBoot);
  }

  RebootAction rerunOn(String bootId) {
    return new RebootAction(returned, tracked, bootId);
  }
}
