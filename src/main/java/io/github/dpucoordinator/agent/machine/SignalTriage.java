package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.agent.machine.DpuAgentProtocol.Signal;

/**
 * What a reboot signal meets before anything starts, in this order: a protective state refuses it; a campaign completed
 * already is not run twice; one in progress (or scheduled) is joined; a deferral defers it; a DPU already shut down is
 * complete without running the shutdown again (unless the signal restarts it). Pure: the agent acts on the answer.
 */
final class SignalTriage {
  private SignalTriage() {}

  /**
   * The answer to give at once, or null when the signal starts a shutdown. {@code join}: the signal's campaign joins the
   * one in progress; {@code remember}: a campaign id to record as completed ("" for none).
   */
  record Answer(Disposition disposition, String campaignId, String text, long deferUntil, String detail, boolean join, String remember) {
    static Answer of(Disposition disposition, String campaignId, String text) {
      return new Answer(disposition, campaignId, text, 0, "", false, "");
    }
  }

  static Answer triage(Signal signal, AgentState state, String current, AgentHolds holds, AgentBoot boot, RebootProgress reboot) {
    String requested = signal.campaignId();
    AgentHolds.Answer refused = holds.protectiveRefusal(signal);
    if (refused != null) {
      return new Answer(refused.disposition(), current, refused.text(), refused.deferUntil(), refused.detail(), false, "");
    }
    if (!requested.isEmpty() && boot.completed.contains(requested)) {
      return Answer.of(Disposition.ALREADY_COMPLETE, requested, "shutdown for this campaign already completed");
    }
    if (reboot.active(state)) {
      String what = reboot.pending() != null ? "a reboot is scheduled" : reboot.restarting(state) ? "a reboot is restarting the DPU"
          : "graceful shutdown already in progress";
      return new Answer(Disposition.IN_PROGRESS, current, what, 0, "", true, "");
    }
    AgentHolds.Answer deferred = holds.deferral(signal);
    if (deferred != null) {
      return new Answer(deferred.disposition(), requested, deferred.text(), deferred.deferUntil(), deferred.detail(), false, "");
    }
    if (state.shutDown() && !signal.method().restarts()) {
      String id = requested.isEmpty() ? current : requested;
      return new Answer(Disposition.ALREADY_COMPLETE, id, "already shut down, waiting for restart", 0, "", false, id);
    }
    return null;
  }
}
