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
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.PreRebootTasksDone;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootIssued;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootReturned;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalAttemptFailed;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalsDispatched;
import io.github.dpucoordinator.npu.journal.Histories;
import io.github.dpucoordinator.npu.journal.HistoryEntry;
import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.npu.module.ModuleBook;
import io.github.dpucoordinator.npu.module.ModuleEvent;
import io.github.dpucoordinator.npu.module.ModuleState;
import io.github.dpucoordinator.npu.notice.Notice;
import io.github.dpucoordinator.npu.notice.NoticeBook;
import io.github.dpucoordinator.npu.notice.NoticeEvent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The campaign entity's state, immutable: the phase, the campaign in flight, the last finished one, recent campaign
 * summaries and the history lines of campaigns. Events are applied by {@link #apply}.
 *
 * <p>{@code modules} and {@code notices} are what a journal written before module transitions and DPU-initiated
 * reboots had entities of their own holds of them (its events, or its snapshot): kept here only until the chassis has
 * handed them to those entities ({@link CampaignEvent.LegacyHandedOver}); their history lines stay in {@code history}.
 */
public record CoordinatorState(
    Phase phase,
    Campaign current,
    Campaign last,
    List<CampaignSummary> recent,
    Map<String, List<HistoryEntry>> history,
    Map<String, ModuleState> modules,
    Map<String, Notice> notices,
    Map<String, List<Long>> halts) implements CborSerializable {

  /** {@code halts}: each DPU's recent graceful halt durations in ms (journals and snapshots written before it: none). */
  public CoordinatorState {
    halts = halts == null ? Map.of() : halts;
  }

  public static CoordinatorState empty() {
    return new CoordinatorState(Phase.IDLE, null, null, List.of(), Map.of(), Map.of(), Map.of(), Map.of());
  }

  /** {@code dpuId}'s recent halt durations (ms from acknowledgment to completion), oldest first. */
  public List<Long> haltsOf(String dpuId) {
    return halts.getOrDefault(dpuId, List.of());
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

  /** Whether a journal written before the split left modules or notices here for the chassis to hand over. */
  public boolean hasLegacy() {
    return !modules.isEmpty() || !notices.isEmpty();
  }

  /** Any event of this entity's journal: a campaign's, or (in journals written before the split) a module's or notice's. */
  public CoordinatorState apply(JournalEvent event, int historyPerDpu, int recentCampaigns) {
    if (event instanceof ModuleEvent e) {
      ModuleBook book = new ModuleBook(modules, history, false).apply(e, historyPerDpu);
      return new CoordinatorState(phase, current, last, recent, book.history(), book.modules(), notices, halts);
    }
    if (event instanceof NoticeEvent e) {
      NoticeBook book = new NoticeBook(notices, history, false).apply(e, historyPerDpu);
      return new CoordinatorState(phase, current, last, recent, book.history(), modules, book.notices(), halts);
    }
    return apply((CampaignEvent) event, historyPerDpu, recentCampaigns);
  }

  public CoordinatorState apply(CampaignEvent event, int historyPerDpu, int recentCampaigns) {
    if (event instanceof CampaignEvent.LegacyHandedOver) {
      return new CoordinatorState(phase, current, last, recent, history, Map.of(), Map.of(), halts);
    }
    if (event instanceof CampaignStarted e) {
      Map<String, DpuProgress> dpus = new LinkedHashMap<>();
      e.dpus().forEach(d -> dpus.put(d.id(), DpuProgress.pending(d)));
      Campaign c = new Campaign(e.campaignId(), e.reason(), e.kind(), e.atMillis(), 0, 0, dpus, List.of(), "", false, 0, "", 0, Map.of(),
          e.force(), 0, false, "", RebootAction.UNTRACKED, Map.of());
      return new CoordinatorState(Phase.PREPARE_FOR_REBOOT, c, last, recent, history, modules, notices, halts);
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
    } else if (event instanceof CampaignEvent.DpuBaselined e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.baselined(e.baseline())));
    } else if (event instanceof DpuAcknowledged e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.acknowledged(e.attempt(), e.ack(), e.countBefore(), e.atMillis())));
    } else if (event instanceof DpuShutdownCompleted e) {
      CoordinatorState next = with(phase, c.withDpu(e.dpuId(), d -> d.completed(e.degraded(), e.detail(), e.atMillis())));
      return e.degraded() || e.haltMillis() < 0 ? next : next.withHalt(e.dpuId(), e.haltMillis());
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
      return finish(c.withRestarts(e.restarts()), e.aborted() ? "aborted" : "cancelled", Map.of(), e.dpuOutcomes(), e.atMillis(),
          historyPerDpu, recentCampaigns);
    }
    return this;
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
      nextHistory.put(d.id(), Histories.tail(entries, historyPerDpu));
    }
    List<CampaignSummary> nextRecent = new ArrayList<>(recent);
    nextRecent.add(new CampaignSummary(done.id(), done.reason(), done.kind().label(), done.startedAt(), at, outcome,
        done.dpus().size(), done.count(DpuStatus.SHUTDOWN_COMPLETE), done.count(DpuStatus.FAILED),
        // "not ready" means not back after the NPU's reboot: none, in a campaign that ended before it
        done.rebootAt() <= 0 ? 0 : done.dpus().values().stream().filter(d -> d.status() == DpuStatus.SHUTDOWN_COMPLETE && !d.ready()).count()));
    return new CoordinatorState(Phase.IDLE, null, done, Histories.tail(nextRecent, recentCampaigns), nextHistory, modules, notices, halts);
  }

  private CoordinatorState withHalt(String dpuId, long millis) {
    return new CoordinatorState(phase, current, last, recent, history, modules, notices,
        Histories.with(halts, dpuId, millis, io.github.dpucoordinator.npu.settings.NpuSettings.HALTS_KEPT));
  }

  private CoordinatorState with(Phase nextPhase, Campaign c) {
    return new CoordinatorState(nextPhase, c, last, recent, history, modules, notices, halts);
  }
}
