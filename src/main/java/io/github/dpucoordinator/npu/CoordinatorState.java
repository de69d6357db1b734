package io.github.dpucoordinator.npu;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.CampaignEvent.AcknowledgmentsCollected;
import io.github.dpucoordinator.npu.CampaignEvent.AcknowledgmentsMissing;
import io.github.dpucoordinator.npu.CampaignEvent.CampaignFinished;
import io.github.dpucoordinator.npu.CampaignEvent.CampaignStarted;
import io.github.dpucoordinator.npu.CampaignEvent.DpuAcknowledged;
import io.github.dpucoordinator.npu.CampaignEvent.DpuGaveUp;
import io.github.dpucoordinator.npu.CampaignEvent.DpuReady;
import io.github.dpucoordinator.npu.CampaignEvent.DpuShutdownCompleted;
import io.github.dpucoordinator.npu.CampaignEvent.ModuleHaltAcknowledged;
import io.github.dpucoordinator.npu.CampaignEvent.ModuleHalted;
import io.github.dpucoordinator.npu.CampaignEvent.ModulePowerIssued;
import io.github.dpucoordinator.npu.CampaignEvent.ModulePoweredOn;
import io.github.dpucoordinator.npu.CampaignEvent.ModuleTransitionFinished;
import io.github.dpucoordinator.npu.CampaignEvent.ModuleTransitionStarted;
import io.github.dpucoordinator.npu.CampaignEvent.PreRebootTasksDone;
import io.github.dpucoordinator.npu.CampaignEvent.RebootIssued;
import io.github.dpucoordinator.npu.CampaignEvent.RebootReturned;
import io.github.dpucoordinator.npu.CampaignEvent.SignalAttemptFailed;
import io.github.dpucoordinator.npu.CampaignEvent.SignalsDispatched;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The coordinator's whole state, immutable: the phase, the campaign in flight, the last finished
 * one, recent campaign summaries and each DPU's reboot history. Events are applied by {@link #apply}.
 */
public record CoordinatorState(
    Phase phase,
    Campaign current,
    Campaign last,
    List<CampaignSummary> recent,
    Map<String, List<HistoryEntry>> history,
    Map<String, Module> modules,
    Map<String, Notice> notices) implements CborSerializable {

  /**
   * A DPU-initiated reboot the NPU knows of, per DPU: the notice (reason, planned time, hard deadline), the
   * latest round and what the NPU answered, and once the DPU went, when it is expected back. Deadlines are
   * absolute, so a restarted service keeps them.
   */
  public record Notice(String id, String dpuId, String reason, long plannedAt, long hardDeadline, int round, String decision,
      long postponedUntil, String answer, boolean going, String why, long wentAt, long expectBackBy, String leavingBootId)
      implements CborSerializable {

    public Notice {
      leavingBootId = leavingBootId == null ? "" : leavingBootId;
    }

    /** "notice n…, went, expected back by …" or "notice n…, hard deadline …": how blockers and refusals name it. */
    public String describe() {
      return "notice " + id + ", " + (going ? "went, expected back by " + java.time.Instant.ofEpochMilli(expectBackBy)
          : "hard deadline " + java.time.Instant.ofEpochMilli(hardDeadline));
    }

    Notice answered(String d, long until, String detail) {
      return new Notice(id, dpuId, reason, plannedAt, hardDeadline, round, d, until, detail, going, why, wentAt, expectBackBy, leavingBootId);
    }

    Notice round(int r) {
      return new Notice(id, dpuId, reason, plannedAt, hardDeadline, r, decision, postponedUntil, answer, going, why, wentAt, expectBackBy,
          leavingBootId);
    }

    Notice went(String w, long at, long backBy, String bootId) {
      return new Notice(id, dpuId, reason, plannedAt, hardDeadline, round, decision, postponedUntil, answer, true, w, at, backBy, bootId);
    }
  }

  /** The DPU-initiated reboot of {@code dpuId} with id {@code id}, if that is the one in flight. */
  public Notice notice(String dpuId, String id) {
    Notice n = notices.get(dpuId);
    return n != null && n.id().equals(id) ? n : null;
  }

  public static final String SHUTDOWN = "shutdown";
  public static final String STARTUP = "startup";
  /** Named-pipe requests: the DPU is asked to HALT, or to reboot COLD or WARM, with no power action after. */
  public static final java.util.Set<String> REBOOT_KINDS = java.util.Set.of("halt", "cold", "warm");

  /**
   * A DPU as a chassis module: administratively down after a `chassis module shutdown`, and the one
   * transition (shutdown or startup) it may be in.
   */
  public record Module(String dpuId, boolean down, Transition transition, String lastOutcome, long lastChange)
      implements CborSerializable {}

  /**
   * A module transition in flight. Phases: HALTING and POWERING_OFF for a shutdown, POWERING_ON and
   * WAITING_FOR_BOOT for a startup.
   */
  public record Transition(String id, String kind, String reason, DpuEndpoint dpu, String phase, boolean acknowledged,
      boolean powerIssued, String detail, long startedAt, long bootDeadline, Long countBefore, Boolean haltFailed)
      implements CborSerializable {

    /**
     * {@code countBefore}: the gNOI evidence journaled with the HALT's acknowledgment (-1: none); {@code haltFailed}: the
     * HALT of a shutdown did not complete (the power-off went ahead). Null in journals written before they existed.
     */
    public Transition {
      countBefore = countBefore == null ? -1L : countBefore;
      // snapshots written before the flag existed said so only in the detail
      haltFailed = haltFailed != null ? haltFailed : detail != null && detail.startsWith("halt failed");
    }

    Transition with(String nextPhase, boolean ack, boolean issued, String d, long deadline) {
      return new Transition(id, kind, reason, dpu, nextPhase, ack, issued, d, startedAt, deadline, countBefore, haltFailed);
    }

    Transition haltAcknowledged(long count) {
      return new Transition(id, kind, reason, dpu, phase, true, powerIssued, detail, startedAt, bootDeadline, count, haltFailed);
    }

    Transition halted(boolean ok, String d) {
      return new Transition(id, kind, reason, dpu, "POWERING_OFF", acknowledged, false, d, startedAt, 0, countBefore, !ok);
    }
  }

  public enum DpuStatus { PENDING, ACKNOWLEDGED, SHUTDOWN_COMPLETE, FAILED }

  /**
   * One DPU as the NPU sees it within a campaign. {@code hold}: a deferral being honoured ("" none);
   * {@code protective}: the protective state it reports ("" none); {@code escalation}: the force action
   * issued for it ("" none) and {@code forced} how that went; {@code endedAs}: "cancelled" or "aborted" when the
   * campaign ended before Reboot ("" otherwise), with {@code endedDetail} saying what became of this DPU.
   */
  public record DpuProgress(String id, String host, int port, String protocol, DpuStatus status, int attempts, String ack,
      String error, boolean degraded, boolean ready, String notReady, String hold, String protective, String escalation,
      String forced, String endedAs, String endedDetail, Long countBefore) implements CborSerializable {

    /**
     * Journals written before these fields existed read them as null: they mean "none". {@code countBefore}: the
     * gNOI evidence of completion journaled with the acknowledgment (-1: none).
     */
    public DpuProgress {
      countBefore = countBefore == null ? -1L : countBefore;
      hold = hold == null ? "" : hold;
      protective = protective == null ? "" : protective;
      escalation = escalation == null ? "" : escalation;
      forced = forced == null ? "" : forced;
      endedAs = endedAs == null ? "" : endedAs;
      endedDetail = endedDetail == null ? "" : endedDetail;
    }

    static DpuProgress pending(DpuEndpoint d) {
      return new DpuProgress(d.id(), d.host(), d.port(), d.protocol(), DpuStatus.PENDING, 0, "", "", false, false, "", "", "", "", "",
          "", "", -1L);
    }

    public DpuEndpoint endpoint() {
      return new DpuEndpoint(id, host, port, protocol);
    }

    /** Completed or failed: nothing more to wait for before the reboot. */
    public boolean resolved() {
      return status == DpuStatus.SHUTDOWN_COMPLETE || status == DpuStatus.FAILED;
    }

    public boolean isProtective() {
      return !protective.isEmpty();
    }

    public boolean isEscalated() {
      return !escalation.isEmpty();
    }

    /** Its force action was issued and has not reported yet. */
    public boolean isForcing() {
      return isEscalated() && forced.isEmpty();
    }

    /**
     * "ok", "degraded" (a shutdown step failed, or it did not come back in time) or "failed"; "cancelled" or
     * "aborted" when the campaign ended before Reboot.
     */
    public String outcome() {
      if (!endedAs.isEmpty()) {
        return endedAs;
      }
      if (status != DpuStatus.SHUTDOWN_COMPLETE) {
        return "failed";
      }
      return degraded || !notReady.isEmpty() ? "degraded" : "ok";
    }

    public String reason() {
      List<String> parts = new ArrayList<>();
      if (!endedDetail.isEmpty()) {
        parts.add(endedDetail);
      }
      if (!error.isEmpty() && !endedDetail.contains(error)) {
        parts.add(error);
      }
      if (isEscalated()) {
        parts.add("escalated: " + escalation + (forced.isEmpty() ? "" : " -> " + forced));
      }
      if (!notReady.isEmpty()) {
        parts.add("not ready after reboot: " + notReady);
      }
      return String.join("; ", parts);
    }

    private DpuProgress with(DpuStatus st, int att, String a, String err, boolean deg, boolean rdy, String nr, String h, String p,
        String esc, String f) {
      return new DpuProgress(id, host, port, protocol, st, att, a, err, deg, rdy, nr, h, p, esc, f, endedAs, endedDetail, countBefore);
    }

    /** The campaign was cancelled or aborted before Reboot: {@code detail} says what became of this DPU. */
    DpuProgress endedEarly(String as, String detail) {
      return new DpuProgress(id, host, port, protocol, status, attempts, ack, error, degraded, ready, notReady, hold, protective,
          escalation, forced, as, detail, countBefore);
    }

    DpuProgress attemptFailed(int attempt, String reason) {
      return with(status, Math.max(attempts, attempt), ack, reason, degraded, ready, notReady, hold, protective, escalation, forced);
    }

    DpuProgress acknowledged(int attempt, String text, long count) {
      return new DpuProgress(id, host, port, protocol, DpuStatus.ACKNOWLEDGED, Math.max(attempts, attempt), text, "", degraded, ready,
          notReady, "", protective, escalation, forced, endedAs, endedDetail, count);
    }

    /** A degraded completion keeps which step failed, and how, as its error. */
    DpuProgress completed(boolean stepFailed, String detail) {
      String why = stepFailed ? "shutdown step failed" + (detail.isEmpty() ? "" : ": " + detail) : "";
      return with(DpuStatus.SHUTDOWN_COMPLETE, attempts, ack, why, stepFailed, ready, notReady, "", "", escalation, forced);
    }

    DpuProgress failed(String reason) {
      return status == DpuStatus.FAILED ? this
          : with(DpuStatus.FAILED, attempts, ack, reason, degraded, ready, notReady, hold, protective, escalation, forced);
    }

    DpuProgress readyAgain() {
      return with(status, attempts, ack, error, degraded, true, "", hold, protective, escalation, forced);
    }

    DpuProgress notReadyAfterReboot(String reason) {
      return with(status, attempts, ack, error, degraded, false, reason, hold, protective, escalation, forced);
    }

    DpuProgress deferred(String text) {
      return with(status, attempts, ack, error, degraded, ready, notReady, text, protective, escalation, forced);
    }

    DpuProgress protectiveState(String state) {
      return with(status, attempts, ack, error, degraded, ready, notReady, hold, state, escalation, forced);
    }

    DpuProgress escalated(String action) {
      return with(status, attempts, ack, error, degraded, ready, notReady, hold, protective, action, forced);
    }

    DpuProgress forcedResult(String result) {
      return with(status, attempts, ack, error, degraded, ready, notReady, hold, protective, escalation, result);
    }
  }

  /**
   * A campaign. {@code force}: deferrals are not honoured; {@code deferCapAt}: no deferral is honoured past
   * it; {@code protectiveHold}: the ack deadline has already been extended once for DPUs in a protective state.
   */
  public record Campaign(String id, String reason, String kind, long startedAt, long ackDeadline, long bootWaitDeadline,
      Map<String, DpuProgress> dpus, List<StepResult> preTasks, String reboot, boolean rebootOk, long rebootAt, String outcome,
      long finishedAt, Map<String, Long> bootDeadlines, boolean force, long deferCapAt, boolean protectiveHold, String hostBootId,
      RebootAction rebootAction) implements CborSerializable {

    /**
     * {@code hostBootId}: this host's boot id when the reboot action was issued ("" before, or where unknown);
     * {@code rebootAction}: what is on record about the reboot action (see {@link RebootAction}).
     */
    public Campaign {
      hostBootId = hostBootId == null ? "" : hostBootId;
      rebootAction = rebootAction == null ? RebootAction.UNTRACKED : rebootAction; // journals and snapshots from before it
    }

    /** This DPU's boot deadline after the reboot (journaled per DPU; older journals: the campaign's). */
    public long bootDeadline(String dpuId) {
      return bootDeadlines == null ? bootWaitDeadline : bootDeadlines.getOrDefault(dpuId, bootWaitDeadline);
    }

    /** Every DPU is Listening again or recorded as not ready. */
    public boolean allBack() {
      return dpus.values().stream().allMatch(d -> d.ready() || !d.notReady().isEmpty());
    }

    public boolean allResolved() {
      return dpus.values().stream().allMatch(DpuProgress::resolved);
    }

    public boolean allCompleted() {
      return dpus.values().stream().allMatch(d -> d.status() == DpuStatus.SHUTDOWN_COMPLETE);
    }

    public boolean allReady() {
      return dpus.values().stream().allMatch(DpuProgress::ready);
    }

    public long count(DpuStatus status) {
      return dpus.values().stream().filter(d -> d.status() == status).count();
    }

    /** "success" when every DPU shut down cleanly and came back and the reboot ran; else "degraded". */
    public String outcomeWith(Map<String, String> notReady) {
      boolean clean = rebootOk && notReady.isEmpty()
          && dpus.values().stream().allMatch(d -> d.status() == DpuStatus.SHUTDOWN_COMPLETE && !d.degraded());
      return clean ? "success" : "degraded";
    }

    private Campaign copy(long ack, long bootWait, Map<String, DpuProgress> d, List<StepResult> pre, String rb, boolean ok, long at,
        String out, long fin, Map<String, Long> bd, long deferCap, boolean hold) {
      return new Campaign(id, reason, kind, startedAt, ack, bootWait, d, pre, rb, ok, at, out, fin, bd, force, deferCap, hold, hostBootId,
          rebootAction);
    }

    Campaign withDpu(String dpuId, UnaryOperator<DpuProgress> f) {
      Map<String, DpuProgress> copy = new LinkedHashMap<>(dpus);
      copy.computeIfPresent(dpuId, (k, v) -> f.apply(v));
      return copy(ackDeadline, bootWaitDeadline, copy, preTasks, reboot, rebootOk, rebootAt, outcome, finishedAt, bootDeadlines,
          deferCapAt, protectiveHold);
    }

    Campaign withPreTasks(List<StepResult> results) {
      return copy(ackDeadline, bootWaitDeadline, dpus, results, reboot, rebootOk, rebootAt, outcome, finishedAt, bootDeadlines,
          deferCapAt, protectiveHold);
    }

    Campaign withAckDeadline(long deadline, long deferCap) {
      return copy(deadline, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, outcome, finishedAt, bootDeadlines, deferCap,
          protectiveHold);
    }

    Campaign withProtectiveHold(long holdUntil) {
      return copy(holdUntil, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, outcome, finishedAt, bootDeadlines,
          deferCapAt, true);
    }

    Campaign withReboot(String action, boolean ok, long at, long bootDeadline, Map<String, Long> deadlines) {
      return copy(ackDeadline, bootDeadline, dpus, preTasks, action, ok, at, outcome, finishedAt, deadlines, deferCapAt, protectiveHold);
    }

    /** The reboot action is issued on the boot {@code bootId}, with what is on record about it. */
    Campaign withRebootAction(String bootId, RebootAction action) {
      return new Campaign(id, reason, kind, startedAt, ackDeadline, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, outcome,
          finishedAt, bootDeadlines, force, deferCapAt, protectiveHold, bootId, action);
    }

    Campaign finished(String result, long at) {
      return copy(ackDeadline, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, result, at, bootDeadlines, deferCapAt,
          protectiveHold);
    }
  }

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

  /** {@code notReady}: DPUs that shut down but were not back in time (a failed DPU counts as failed only). */
  public record CampaignSummary(String id, String reason, String kind, long startedAt, long finishedAt, String outcome,
      int dpus, long completed, long failed, long notReady) implements CborSerializable {}

  /** One line of a DPU's reboot history: why it went down and how that went. */
  public record HistoryEntry(String campaignId, long atMillis, String cause, String reason, String outcome, String detail)
      implements CborSerializable {}

  public static CoordinatorState empty() {
    return new CoordinatorState(Phase.IDLE, null, null, List.of(), Map.of(), Map.of(), Map.of());
  }

  public boolean isCurrent(String campaignId) {
    return current != null && current.id().equals(campaignId);
  }

  public CoordinatorState apply(CampaignEvent event, int historyPerDpu, int recentCampaigns) {
    if (isModuleEvent(event)) {
      return applyModule(event, historyPerDpu);
    }
    if (isNoticeEvent(event)) {
      return applyNotice(event, historyPerDpu);
    }
    if (event instanceof CampaignStarted e) {
      Map<String, DpuProgress> dpus = new LinkedHashMap<>();
      e.dpus().forEach(d -> dpus.put(d.id(), DpuProgress.pending(d)));
      Campaign c = new Campaign(e.campaignId(), e.reason(), e.kind(), e.atMillis(), 0, 0, dpus, List.of(), "", false, 0, "", 0, Map.of(),
          e.force(), 0, false, "", RebootAction.UNTRACKED);
      return new CoordinatorState(Phase.PREPARE_FOR_REBOOT, c, last, recent, history, modules, notices);
    }
    if (!isCurrent(event.campaignId())) {
      return this; // only events of the current campaign are ever persisted
    }
    Campaign c = current;
    if (event instanceof PreRebootTasksDone e) {
      return with(Phase.NOTIFY_DPUS, c.withPreTasks(e.results()));
    } else if (event instanceof SignalsDispatched e) {
      return with(Phase.WAIT_FOR_ACKNOWLEDGMENTS, c.withAckDeadline(e.ackDeadlineMillis(), e.deferCapMillis()));
    } else if (event instanceof CampaignEvent.DpuDeferred e) {
      String text = "deferred until " + java.time.Instant.ofEpochMilli(e.honouredUntil()) + ": " + e.reason();
      return with(phase, c.withDpu(e.dpuId(), d -> d.deferred(text)).withAckDeadline(Math.max(c.ackDeadline(), e.ackDeadlineMillis()),
          c.deferCapAt()));
    } else if (event instanceof CampaignEvent.DpuProtective e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.protectiveState(e.protective())));
    } else if (event instanceof CampaignEvent.ProtectiveHold e) {
      return with(phase, c.withProtectiveHold(e.holdUntilMillis()));
    } else if (event instanceof CampaignEvent.ProtectiveCapReached) {
      return this;
    } else if (event instanceof CampaignEvent.DpuEscalated e) {
      String action = e.action().equals("dry run") ? "force action (dry run)" : "force action `" + e.action() + "`";
      return with(phase, c.withDpu(e.dpuId(), d -> d.escalated(action)));
    } else if (event instanceof CampaignEvent.DpuForced e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.forcedResult(e.ok() ? "ok" : "FAILED: " + e.detail())));
    } else if (event instanceof SignalAttemptFailed e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.attemptFailed(e.attempt(), e.reason())));
    } else if (event instanceof DpuAcknowledged e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.acknowledged(e.attempt(), e.ack(), e.countBefore())));
    } else if (event instanceof DpuShutdownCompleted e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.completed(e.degraded(), e.detail())));
    } else if (event instanceof DpuGaveUp e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.failed(e.reason())));
    } else if (event instanceof AcknowledgmentsCollected) {
      return with(Phase.PROCEED_WITH_REBOOT, c);
    } else if (event instanceof AcknowledgmentsMissing e) {
      Campaign next = c;
      for (Map.Entry<String, String> m : e.missing().entrySet()) {
        next = next.withDpu(m.getKey(), d -> d.failed(m.getValue()));
      }
      return with(Phase.ERROR_LOGGING, next);
    } else if (event instanceof RebootIssued e) {
      return with(Phase.REBOOT, c.withReboot(e.action(), false, e.atMillis(), 0, Map.of())
          .withRebootAction(e.hostBootId(), new RebootAction(null, e.returnJournaled(), "")));
    } else if (event instanceof CampaignEvent.RebootActionReturned e) {
      return with(phase, c.withRebootAction(c.hostBootId(),
          c.rebootAction().returned(new StepResult("reboot", e.ok(), e.detail(), e.atMillis() - c.rebootAt()))));
    } else if (event instanceof CampaignEvent.RebootActionRerun e) {
      return with(phase, c.withReboot(c.reboot() + " [run again: " + e.why() + "]", false, c.rebootAt(), 0, Map.of())
          .withRebootAction(e.hostBootId(), c.rebootAction().rerunOn(e.hostBootId())));
    } else if (event instanceof RebootReturned e) {
      String action = c.reboot() + " -> " + (e.ok() ? "ok" : "FAILED") + (e.detail().isEmpty() ? "" : " (" + e.detail() + ")");
      return with(Phase.POST_REBOOT, c.withReboot(action, e.ok(), c.rebootAt(), e.bootWaitDeadlineMillis(),
          e.dpuBootDeadlines() == null ? Map.of() : e.dpuBootDeadlines()));
    } else if (event instanceof CampaignEvent.DpuNotReady e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.notReadyAfterReboot(e.reason())));
    } else if (event instanceof DpuReady e) {
      return with(phase, c.withDpu(e.dpuId(), DpuProgress::readyAgain));
    } else if (event instanceof CampaignFinished e) {
      return finish(c, e.outcome(), e.notReady(), Map.of(), e.atMillis(), historyPerDpu, recentCampaigns);
    } else if (event instanceof CampaignEvent.CampaignCancelled e) {
      return finish(c, e.aborted() ? "aborted" : "cancelled", Map.of(), e.dpuOutcomes(), e.atMillis(), historyPerDpu, recentCampaigns);
    }
    throw new IllegalStateException("unhandled event " + event);
  }

  /** Ends the campaign; {@code cancelled} holds each DPU's outcome when it was cancelled (empty otherwise). */
  private CoordinatorState finish(Campaign c, String outcome, Map<String, String> notReady, Map<String, String> cancelled,
      long at, int historyPerDpu, int recentCampaigns) {
    Campaign done = c;
    for (Map.Entry<String, String> m : notReady.entrySet()) {
      done = done.withDpu(m.getKey(), d -> d.notReadyAfterReboot(m.getValue()));
    }
    for (Map.Entry<String, String> m : cancelled.entrySet()) {
      done = done.withDpu(m.getKey(), d -> d.endedEarly(outcome, m.getValue()));
    }
    done = done.finished(outcome, at);

    Map<String, List<HistoryEntry>> nextHistory = new LinkedHashMap<>(history);
    for (DpuProgress d : done.dpus().values()) {
      List<HistoryEntry> entries = new ArrayList<>(nextHistory.getOrDefault(d.id(), List.of()));
      entries.add(cancelled.isEmpty()
          ? new HistoryEntry(done.id(), at, "npu-reboot (" + done.kind() + ")", done.reason(), d.outcome(), d.reason())
          : new HistoryEntry(done.id(), at, "npu-reboot (" + done.kind() + ") " + outcome, done.reason(), outcome,
              cancelled.getOrDefault(d.id(), "")));
      nextHistory.put(d.id(), tail(entries, historyPerDpu));
    }
    List<CampaignSummary> nextRecent = new ArrayList<>(recent);
    nextRecent.add(new CampaignSummary(done.id(), done.reason(), done.kind(), done.startedAt(), at, outcome,
        done.dpus().size(), done.count(DpuStatus.SHUTDOWN_COMPLETE), done.count(DpuStatus.FAILED),
        // "not ready" means not back after the NPU's reboot: none, in a campaign that ended before it
        done.rebootAt() <= 0 ? 0 : done.dpus().values().stream().filter(d -> d.status() == DpuStatus.SHUTDOWN_COMPLETE && !d.ready()).count()));
    return new CoordinatorState(Phase.IDLE, null, done, tail(nextRecent, recentCampaigns), nextHistory, modules, notices);
  }

  private CoordinatorState with(Phase nextPhase, Campaign c) {
    return new CoordinatorState(nextPhase, c, last, recent, history, modules, notices);
  }

  /** The module transition {@code id} of {@code dpuId}, if that is the one in flight. */
  public Transition transition(String dpuId, String id) {
    Module m = modules.get(dpuId);
    return m != null && m.transition() != null && m.transition().id().equals(id) ? m.transition() : null;
  }

  public boolean down(String dpuId) {
    Module m = modules.get(dpuId);
    return m != null && m.down();
  }

  private CoordinatorState applyModule(CampaignEvent event, int historyPerDpu) {
    if (event instanceof ModuleTransitionStarted e) {
      Module old = modules.get(e.dpu().id());
      String phase = e.kind().equals(STARTUP) ? "POWERING_ON" : "HALTING";
      Transition t = new Transition(e.campaignId(), e.kind(), e.reason(), e.dpu(), phase, false, false, "", e.atMillis(), 0, -1L, false);
      return withModule(new Module(e.dpu().id(), old != null && old.down(), t, old == null ? "" : old.lastOutcome(), e.atMillis()));
    }
    String dpuId = moduleDpu(event);
    Module m = modules.get(dpuId);
    Transition t = transition(dpuId, event.campaignId());
    if (t == null) {
      return this; // only events of the transition in flight are ever persisted
    }
    if (event instanceof ModuleHaltAcknowledged e) {
      return withModule(new Module(dpuId, m.down(), t.haltAcknowledged(e.countBefore()), m.lastOutcome(), m.lastChange()));
    } else if (event instanceof ModuleHalted e) {
      String detail = e.ok() ? "halted" + (e.detail().isEmpty() ? "" : " (" + e.detail() + ")") : "halt failed: " + e.detail();
      return withModule(new Module(dpuId, m.down(), t.halted(e.ok(), detail), m.lastOutcome(), m.lastChange()));
    } else if (event instanceof ModulePowerIssued) {
      return withModule(new Module(dpuId, m.down(), t.with(t.phase(), t.acknowledged(), true, t.detail(), 0), m.lastOutcome(), m.lastChange()));
    } else if (event instanceof ModulePoweredOn e) {
      return withModule(new Module(dpuId, m.down(), t.with("WAITING_FOR_BOOT", t.acknowledged(), true, e.detail(), e.bootDeadlineMillis()),
          m.lastOutcome(), m.lastChange()));
    } else if (event instanceof ModuleTransitionFinished e) {
      // A refused transition changed nothing: the DPU stays as it was.
      boolean down = e.outcome().equals("refused") ? m.down() : t.kind().equals(SHUTDOWN) || t.kind().equals("halt");
      Map<String, List<HistoryEntry>> nextHistory = new LinkedHashMap<>(history);
      List<HistoryEntry> entries = new ArrayList<>(nextHistory.getOrDefault(dpuId, List.of()));
      entries.add(new HistoryEntry(t.id(), e.atMillis(), "planned " + t.kind(), t.reason(), e.outcome(), e.detail()));
      nextHistory.put(dpuId, tail(entries, historyPerDpu));
      Map<String, Module> next = new LinkedHashMap<>(modules);
      next.put(dpuId, new Module(dpuId, down, null, e.outcome() + ": " + t.kind() + (e.detail().isEmpty() ? "" : " (" + e.detail() + ")"),
          e.atMillis()));
      return new CoordinatorState(phase, current, last, recent, nextHistory, next, notices);
    }
    throw new IllegalStateException("unhandled module event " + event);
  }

  static boolean isNoticeEvent(CampaignEvent event) {
    return event instanceof CampaignEvent.DpuRebootNoticed || event instanceof CampaignEvent.DpuRebootAnswered
        || event instanceof CampaignEvent.DpuRebootPostponedOnDpu
        || event instanceof CampaignEvent.DpuRebootGoing || event instanceof CampaignEvent.DpuRebootFinished
        || event instanceof CampaignEvent.UnplannedEvent;
  }

  /** DPU-initiated reboots and unplanned events: each goes into the DPU's history apart from NPU campaigns. */
  private CoordinatorState applyNotice(CampaignEvent event, int historyPerDpu) {
    if (event instanceof CampaignEvent.UnplannedEvent e) {
      return withHistory(e.dpuId(), new HistoryEntry(e.campaignId(), e.atMillis(), "unplanned: " + e.what(), "", "unplanned", e.detail()),
          historyPerDpu, notices);
    }
    Map<String, Notice> next = new LinkedHashMap<>(notices);
    if (event instanceof CampaignEvent.DpuRebootNoticed e) {
      Notice old = notice(e.dpuId(), e.campaignId());
      next.put(e.dpuId(), old != null ? old.round(Math.max(old.round(), e.round()))
          : new Notice(e.campaignId(), e.dpuId(), e.reason(), e.plannedMillis(), e.hardDeadlineMillis(), e.round(), "", 0, "", false, "",
              0, 0, ""));
      return new CoordinatorState(phase, current, last, recent, history, modules, next);
    }
    if (event instanceof CampaignEvent.DpuRebootAnswered e && notice(e.dpuId(), e.campaignId()) != null) {
      next.put(e.dpuId(), notices.get(e.dpuId()).answered(e.decision(), e.untilMillis(), e.detail()));
      return new CoordinatorState(phase, current, last, recent, history, modules, next);
    }
    if (event instanceof CampaignEvent.DpuRebootPostponedOnDpu e && notice(e.dpuId(), e.campaignId()) != null) {
      next.put(e.dpuId(), notices.get(e.dpuId()).answered("POSTPONE", e.untilMillis(), "postponed on the DPU by " + e.by()
          + (e.reason().isBlank() ? "" : " (" + e.reason() + ")")));
      return new CoordinatorState(phase, current, last, recent, history, modules, next);
    }
    if (event instanceof CampaignEvent.DpuRebootGoing e && notice(e.dpuId(), e.campaignId()) != null) {
      next.put(e.dpuId(), notices.get(e.dpuId()).went(e.why(), e.atMillis(), e.expectBackByMillis(), e.leavingBootId()));
      return new CoordinatorState(phase, current, last, recent, history, modules, next);
    }
    if (event instanceof CampaignEvent.DpuRebootFinished e && notice(e.dpuId(), e.campaignId()) != null) {
      Notice n = next.remove(e.dpuId());
      String detail = "hard deadline " + java.time.Instant.ofEpochMilli(n.hardDeadline()) + ", " + n.round() + " round(s)"
          + (n.postponedUntil() > 0 ? ", postponed until " + java.time.Instant.ofEpochMilli(n.postponedUntil()) : "")
          + (n.going() ? ", went (" + n.why() + ")" : "") + (e.detail().isEmpty() ? "" : "; " + e.detail());
      return withHistory(e.dpuId(), new HistoryEntry(n.id(), e.atMillis(), "planned dpu-reboot (DPU-initiated)", n.reason(), e.outcome(),
          detail), historyPerDpu, next);
    }
    return this;
  }

  private CoordinatorState withHistory(String dpuId, HistoryEntry entry, int historyPerDpu, Map<String, Notice> nextNotices) {
    Map<String, List<HistoryEntry>> nextHistory = new LinkedHashMap<>(history);
    List<HistoryEntry> entries = new ArrayList<>(nextHistory.getOrDefault(dpuId, List.of()));
    entries.add(entry);
    nextHistory.put(dpuId, tail(entries, historyPerDpu));
    return new CoordinatorState(phase, current, last, recent, nextHistory, modules, nextNotices);
  }

  private static String moduleDpu(CampaignEvent event) {
    if (event instanceof ModuleHaltAcknowledged e) {
      return e.dpuId();
    } else if (event instanceof ModuleHalted e) {
      return e.dpuId();
    } else if (event instanceof ModulePowerIssued e) {
      return e.dpuId();
    } else if (event instanceof ModulePoweredOn e) {
      return e.dpuId();
    } else if (event instanceof ModuleTransitionFinished e) {
      return e.dpuId();
    }
    throw new IllegalStateException("not a module event: " + event);
  }

  static boolean isModuleEvent(CampaignEvent event) {
    return event instanceof ModuleTransitionStarted || event instanceof ModuleHaltAcknowledged || event instanceof ModuleHalted
        || event instanceof ModulePowerIssued || event instanceof ModulePoweredOn || event instanceof ModuleTransitionFinished;
  }

  private CoordinatorState withModule(Module m) {
    Map<String, Module> next = new LinkedHashMap<>(modules);
    next.put(m.dpuId(), m);
    return new CoordinatorState(phase, current, last, recent, history, next, notices);
  }

  private static <T> List<T> tail(List<T> list, int max) {
    return list.size() <= max ? List.copyOf(list) : List.copyOf(list.subList(list.size() - max, list.size()));
  }
}
