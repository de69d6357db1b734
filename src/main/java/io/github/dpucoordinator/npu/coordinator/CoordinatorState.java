package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.AcknowledgmentsCollected;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.AcknowledgmentsMissing;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.CampaignFinished;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.CampaignStarted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuAcknowledged;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuGaveUp;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuReady;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuShutdownCompleted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.ModuleHaltAcknowledged;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.ModuleHalted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.ModulePowerIssued;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.ModulePoweredOn;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.ModuleTransitionFinished;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.ModuleTransitionStarted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.PreRebootTasksDone;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootIssued;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootReturned;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalAttemptFailed;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalsDispatched;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
    Map<String, ModuleState> modules,
    Map<String, Notice> notices) implements CborSerializable {

  /** The DPU-initiated reboot of {@code dpuId} with id {@code id}, if that is the one in flight. */
  public Notice notice(String dpuId, String id) {
    Notice n = notices.get(dpuId);
    return n != null && n.id().equals(id) ? n : null;
  }

  public static final String SHUTDOWN = "shutdown";
  public static final String STARTUP = "startup";
  /** Named-pipe requests: the DPU is asked to HALT, or to reboot COLD or WARM, with no power action after. */
  public static final java.util.Set<String> REBOOT_KINDS = java.util.Set.of("halt", "cold", "warm");

  public static CoordinatorState empty() {
    return new CoordinatorState(Phase.IDLE, null, null, List.of(), Map.of(), Map.of(), Map.of());
  }

  /** The state after {@code events}, in order. */
  public CoordinatorState applyAll(List<CampaignEvent> events, int historyPerDpu, int recentCampaigns) {
    CoordinatorState latest = this;
    for (CampaignEvent e : events) {
      latest = latest.apply(e, historyPerDpu, recentCampaigns);
    }
    return latest;
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
    ModuleState m = modules.get(dpuId);
    return m != null && m.transition() != null && m.transition().id().equals(id) ? m.transition() : null;
  }

  public boolean down(String dpuId) {
    ModuleState m = modules.get(dpuId);
    return m != null && m.down();
  }

  private CoordinatorState applyModule(CampaignEvent event, int historyPerDpu) {
    if (event instanceof ModuleTransitionStarted e) {
      ModuleState old = modules.get(e.dpu().id());
      Transition.Step phase = e.kind().equals(STARTUP) ? Transition.Step.POWERING_ON : Transition.Step.HALTING;
      Transition t = new Transition(e.campaignId(), e.kind(), e.reason(), e.dpu(), phase, false, false, "", e.atMillis(), 0, -1L, false);
      return withModule(new ModuleState(e.dpu().id(), old != null && old.down(), t, old == null ? "" : old.lastOutcome(), e.atMillis()));
    }
    String dpuId = moduleDpu(event);
    ModuleState m = modules.get(dpuId);
    Transition t = transition(dpuId, event.campaignId());
    if (t == null) {
      return this; // only events of the transition in flight are ever persisted
    }
    if (event instanceof ModuleHaltAcknowledged e) {
      return withModule(new ModuleState(dpuId, m.down(), t.haltAcknowledged(e.countBefore()), m.lastOutcome(), m.lastChange()));
    } else if (event instanceof ModuleHalted e) {
      String detail = e.ok() ? "halted" + (e.detail().isEmpty() ? "" : " (" + e.detail() + ")") : "halt failed: " + e.detail();
      return withModule(new ModuleState(dpuId, m.down(), t.halted(e.ok(), detail), m.lastOutcome(), m.lastChange()));
    } else if (event instanceof ModulePowerIssued) {
      return withModule(new ModuleState(dpuId, m.down(), t.with(t.phase(), t.acknowledged(), true, t.detail(), 0), m.lastOutcome(), m.lastChange()));
    } else if (event instanceof ModulePoweredOn e) {
      return withModule(new ModuleState(dpuId, m.down(), t.with(Transition.Step.WAITING_FOR_BOOT, t.acknowledged(), true, e.detail(), e.bootDeadlineMillis()),
          m.lastOutcome(), m.lastChange()));
    } else if (event instanceof ModuleTransitionFinished e) {
      // A refused transition changed nothing: the DPU stays as it was.
      boolean down = e.outcome().equals("refused") ? m.down() : t.kind().equals(SHUTDOWN) || t.kind().equals("halt");
      Map<String, List<HistoryEntry>> nextHistory = new LinkedHashMap<>(history);
      List<HistoryEntry> entries = new ArrayList<>(nextHistory.getOrDefault(dpuId, List.of()));
      entries.add(new HistoryEntry(t.id(), e.atMillis(), "planned " + t.kind(), t.reason(), e.outcome(), e.detail()));
      nextHistory.put(dpuId, tail(entries, historyPerDpu));
      Map<String, ModuleState> next = new LinkedHashMap<>(modules);
      next.put(dpuId, new ModuleState(dpuId, down, null, e.outcome() + ": " + t.kind() + (e.detail().isEmpty() ? "" : " (" + e.detail() + ")"),
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

  private CoordinatorState withModule(ModuleState m) {
    Map<String, ModuleState> next = new LinkedHashMap<>(modules);
    next.put(m.dpuId(), m);
    return new CoordinatorState(phase, current, last, recent, history, next, notices);
  }

  private static <T> List<T> tail(List<T> list, int max) {
    return list.size() <= max ? List.copyOf(list) : List.copyOf(list.subList(list.size() - max, list.size()));
  }
}
