package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.util.List;
import java.util.Map;

/**
 * Everything the campaign entity journals. Each event names its campaign; together they are the audit trail
 * `status` reads and the facts a restarted service resumes from.
 */
public sealed interface CampaignEvent extends JournalEvent {
  /** Idle -> PrepareForReboot. {@code force}: `reboot --force`, deferrals are not honoured. */
  record CampaignStarted(String campaignId, String reason, CampaignKind kind, long atMillis, List<DpuEndpoint> dpus, boolean force)
      implements CampaignEvent {}

  /** PrepareForReboot -> NotifyDPUs. */
  record PreRebootTasksDone(String campaignId, List<StepResult> results, long atMillis) implements CampaignEvent {}

  /**
   * NotifyDPUs -> WaitForAcknowledgments: signals go out now and every DPU has until ackDeadlineMillis
   * to complete its shutdown. Deadlines are absolute so a restart never extends them.
   */
  record SignalsDispatched(String campaignId, long ackDeadlineMillis, long atMillis, long deferCapMillis) implements CampaignEvent {}

  /**
   * The DPU answered DEFER: honoured until {@code honouredUntil} (its wish within the campaign's cap), and the
   * campaign's deadline moves to {@code ackDeadlineMillis} so the DPU keeps its whole budget after it.
   */
  record DpuDeferred(String campaignId, String dpuId, String reason, long requestedUntil, long honouredUntil,
      long ackDeadlineMillis, long atMillis) implements CampaignEvent {}

  /** The DPU reports a protective state ({@code protective} names it; empty: it ended). */
  record DpuProtective(String campaignId, String dpuId, String protective, long atMillis) implements CampaignEvent {}

  /**
   * The ack deadline passed while these DPUs were in a protective state: the campaign waits for them until
   * {@code holdUntilMillis} (protective.max-wait), touching nothing.
   */
  record ProtectiveHold(String campaignId, Map<String, String> dpus, long holdUntilMillis, long atMillis) implements CampaignEvent {}

  /** The protective cap passed with these DPUs still protective; {@code policy} (proceed | abort) says what followed. */
  record ProtectiveCapReached(String campaignId, Map<String, String> dpus, String policy, long atMillis) implements CampaignEvent {}

  /** No graceful shutdown in time: the DPU's force action is issued (journaled first, so it runs at most once). */
  record DpuEscalated(String campaignId, String dpuId, String reason, String action, long atMillis) implements CampaignEvent {}

  record DpuForced(String campaignId, String dpuId, boolean ok, String detail, long atMillis) implements CampaignEvent {}

  record SignalAttemptFailed(String campaignId, String dpuId, int attempt, String reason, long atMillis) implements CampaignEvent {}

  /**
   * The DPU's reboot record, read before its first signal on a protocol without campaign ids (gNOI): journaled before
   * the signal is sent, so a restarted service recognises a reboot that signal started instead of asking again.
   */
  record DpuBaselined(String campaignId, String dpuId, DpuTransport.Baseline baseline, long atMillis) implements CampaignEvent {}

  /**
   * {@code countBefore}: gNOI's evidence of completion, the DPU's reboot count just before the Reboot (-1 none;
   * null in journals written before it existed).
   */
  record DpuAcknowledged(String campaignId, String dpuId, int attempt, String disposition, String ack, long atMillis, Long countBefore)
      implements CampaignEvent {
    public DpuAcknowledged {
      countBefore = countBefore == null ? -1L : countBefore;
    }
  }

  /**
   * {@code haltMillis}: the shutdown's duration from its acknowledgment as the NPU estimated it (-1: not known; null in
   * journals written before it existed), the history gNOI's polling learns from.
   */
  record DpuShutdownCompleted(String campaignId, String dpuId, boolean degraded, String detail, long atMillis, Long haltMillis)
      implements CampaignEvent {
    public DpuShutdownCompleted {
      haltMillis = haltMillis == null ? -1L : haltMillis;
    }
  }

  /** The signal was retried up to the limit without an acknowledgment. */
  record DpuGaveUp(String campaignId, String dpuId, String reason, long atMillis) implements CampaignEvent {}

  /** WaitForAcknowledgments -> ProceedWithReboot: every DPU completed its shutdown. */
  record AcknowledgmentsCollected(String campaignId, long atMillis) implements CampaignEvent {}

  /** WaitForAcknowledgments -> ErrorLogging: these DPUs failed or did not finish, with the reason. */
  record AcknowledgmentsMissing(String campaignId, Map<String, String> missing, boolean deadlineExpired, long atMillis)
      implements CampaignEvent {}

  /** -> Reboot. Journaled before the command runs, so it runs at most once per campaign. */
  /** {@code hostBootId}: this host's boot id as the action is issued, so a restarted service can tell whether the host rebooted. */
  /** {@code returnJournaled}: the action's return is journaled ({@link RebootActionReturned}); null in older journals, where it was not. */
  record RebootIssued(String campaignId, String action, long atMillis, String hostBootId, Boolean returnJournaled) implements CampaignEvent {
    public RebootIssued {
      hostBootId = hostBootId == null ? "" : hostBootId; // journals written before the field existed
      returnJournaled = returnJournaled != null && returnJournaled;
    }
  }

  /**
   * The reboot action returned (its exit, or its dry run), journaled before anything else happens: a restarted
   * service that finds it on record never runs the action again.
   */
  record RebootActionReturned(String campaignId, boolean ok, String detail, long atMillis) implements CampaignEvent {}

  /**
   * A restarted service found the reboot action issued on this same boot with no return on record: this service
   * died before or while running it, so it is run again ({@code why} says so in the campaign's record).
   */
  record RebootActionRerun(String campaignId, String why, String hostBootId, long atMillis) implements CampaignEvent {}

  /**
   * Reboot -> PostReboot: the NPU is back (or the dry run returned). Each DPU has until its own deadline
   * in dpuBootDeadlines (its boot-wait); bootWaitDeadlineMillis is the latest of them.
   */
  record RebootReturned(String campaignId, boolean ok, String detail, long bootWaitDeadlineMillis, long atMillis,
      Map<String, Long> dpuBootDeadlines) implements CampaignEvent {}

  /** A DPU not Listening by its own boot deadline: recorded unavailable, with the reason; the NPU goes on. */
  record DpuNotReady(String campaignId, String dpuId, String reason, long atMillis) implements CampaignEvent {}

  record DpuReady(String campaignId, String dpuId, long atMillis) implements CampaignEvent {}

  /** PostReboot -> Idle. */
  record CampaignFinished(String campaignId, String outcome, Map<String, String> notReady, long atMillis)
      implements CampaignEvent {}

  /**
   * `reboot --cancel` before Reboot: the campaign ends here (Idle), each DPU with what became of it
   * (not signalled, left to finish, left halted, or restarting through a module transition). {@code restarts}: the
   * module transition that restarts each halted DPU (its id), which the module entity starts; null in journals written
   * before the split, where those transitions were journaled here.
   */
  record CampaignCancelled(String campaignId, String reason, Map<String, String> dpuOutcomes, long atMillis, boolean aborted,
      Map<String, String> restarts) implements CampaignEvent {
    public CampaignCancelled {
      restarts = restarts == null ? Map.of() : restarts;
    }
  }

  /**
   * The modules and notices a journal written before the split held here are now their entities' own (the chassis
   * handed them over): they are dropped from this state.
   */
  record LegacyHandedOver(String campaignId, long atMillis) implements CampaignEvent {}
}
