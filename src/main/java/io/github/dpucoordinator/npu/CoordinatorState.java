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
    Map<String, List<HistoryEntry>> history) implements CborSerializable {

  public enum DpuStatus { PENDING, ACKNOWLEDGED, SHUTDOWN_COMPLETE, FAILED }

  /** One DPU as the NPU sees it within a campaign. */
  public record DpuProgress(String id, String host, int port, String protocol, DpuStatus status, int attempts, String ack,
      String error, boolean degraded, boolean ready, String notReady) implements CborSerializable {

    static DpuProgress pending(DpuEndpoint d) {
      return new DpuProgress(d.id(), d.host(), d.port(), d.protocol(), DpuStatus.PENDING, 0, "", "", false, false, "");
    }

    public DpuEndpoint endpoint() {
      return new DpuEndpoint(id, host, port, protocol);
    }

    /** Completed or failed: nothing more to wait for before the reboot. */
    public boolean resolved() {
      return status == DpuStatus.SHUTDOWN_COMPLETE || status == DpuStatus.FAILED;
    }

    /** "ok", "degraded" (a shutdown step failed, or it did not come back in time) or "failed". */
    public String outcome() {
      if (status != DpuStatus.SHUTDOWN_COMPLETE) {
        return "failed";
      }
      return degraded || !notReady.isEmpty() ? "degraded" : "ok";
    }

    public String reason() {
      List<String> parts = new ArrayList<>();
      if (!error.isEmpty()) {
        parts.add(error);
      }
      if (!notReady.isEmpty()) {
        parts.add("not ready after reboot: " + notReady);
      }
      return String.join("; ", parts);
    }

    DpuProgress attemptFailed(int attempt, String reason) {
      return new DpuProgress(id, host, port, protocol, status, Math.max(attempts, attempt), ack, reason, degraded, ready, notReady);
    }

    DpuProgress acknowledged(int attempt, String text) {
      return new DpuProgress(id, host, port, protocol, DpuStatus.ACKNOWLEDGED, Math.max(attempts, attempt), text, "", degraded, ready, notReady);
    }

    /** A degraded completion keeps which step failed, and how, as its error. */
    DpuProgress completed(boolean stepFailed, String detail) {
      String why = stepFailed ? "shutdown step failed" + (detail.isEmpty() ? "" : ": " + detail) : "";
      return new DpuProgress(id, host, port, protocol, DpuStatus.SHUTDOWN_COMPLETE, attempts, ack, why, stepFailed, ready, notReady);
    }

    DpuProgress failed(String reason) {
      return status == DpuStatus.FAILED ? this
          : new DpuProgress(id, host, port, protocol, DpuStatus.FAILED, attempts, ack, reason, degraded, ready, notReady);
    }

    DpuProgress readyAgain() {
      return new DpuProgress(id, host, port, protocol, status, attempts, ack, error, degraded, true, "");
    }

    DpuProgress notReadyAfterReboot(String reason) {
      return new DpuProgress(id, host, port, protocol, status, attempts, ack, error, degraded, false, reason);
    }
  }

  public record Campaign(String id, String reason, String kind, long startedAt, long ackDeadline, long bootWaitDeadline,
      Map<String, DpuProgress> dpus, List<StepResult> preTasks, String reboot, boolean rebootOk, long rebootAt, String outcome,
      long finishedAt) implements CborSerializable {

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

    Campaign withDpu(String dpuId, UnaryOperator<DpuProgress> f) {
      Map<String, DpuProgress> copy = new LinkedHashMap<>(dpus);
      copy.computeIfPresent(dpuId, (k, v) -> f.apply(v));
      return new Campaign(id, reason, kind, startedAt, ackDeadline, bootWaitDeadline, copy, preTasks, reboot, rebootOk, rebootAt, outcome, finishedAt);
    }

    Campaign withPreTasks(List<StepResult> results) {
      return new Campaign(id, reason, kind, startedAt, ackDeadline, bootWaitDeadline, dpus, results, reboot, rebootOk, rebootAt, outcome, finishedAt);
    }

    Campaign withAckDeadline(long deadline) {
      return new Campaign(id, reason, kind, startedAt, deadline, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, outcome, finishedAt);
    }

    Campaign withReboot(String action, boolean ok, long at, long bootDeadline) {
      return new Campaign(id, reason, kind, startedAt, ackDeadline, bootDeadline, dpus, preTasks, action, ok, at, outcome, finishedAt);
    }

    Campaign finished(String result, long at) {
      return new Campaign(id, reason, kind, startedAt, ackDeadline, bootWaitDeadline, dpus, preTasks, reboot, rebootOk, rebootAt, result, at);
    }
  }

  /** {@code notReady}: DPUs that shut down but were not back in time (a failed DPU counts as failed only). */
  public record CampaignSummary(String id, String reason, String kind, long startedAt, long finishedAt, String outcome,
      int dpus, long completed, long failed, long notReady) implements CborSerializable {}

  /** One line of a DPU's reboot history: why it went down and how that went. */
  public record HistoryEntry(String campaignId, long atMillis, String cause, String reason, String outcome, String detail)
      implements CborSerializable {}

  public static CoordinatorState empty() {
    return new CoordinatorState(Phase.IDLE, null, null, List.of(), Map.of());
  }

  public boolean isCurrent(String campaignId) {
    return current != null && current.id().equals(campaignId);
  }

  public CoordinatorState apply(CampaignEvent event, int historyPerDpu, int recentCampaigns) {
    if (event instanceof CampaignStarted e) {
      Map<String, DpuProgress> dpus = new LinkedHashMap<>();
      e.dpus().forEach(d -> dpus.put(d.id(), DpuProgress.pending(d)));
      Campaign c = new Campaign(e.campaignId(), e.reason(), e.kind(), e.atMillis(), 0, 0, dpus, List.of(), "", false, 0, "", 0);
      return new CoordinatorState(Phase.PREPARE_FOR_REBOOT, c, last, recent, history);
    }
    if (!isCurrent(event.campaignId())) {
      return this; // only events of the current campaign are ever persisted
    }
    Campaign c = current;
    if (event instanceof PreRebootTasksDone e) {
      return with(Phase.NOTIFY_DPUS, c.withPreTasks(e.results()));
    } else if (event instanceof SignalsDispatched e) {
      return with(Phase.WAIT_FOR_ACKNOWLEDGMENTS, c.withAckDeadline(e.ackDeadlineMillis()));
    } else if (event instanceof SignalAttemptFailed e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.attemptFailed(e.attempt(), e.reason())));
    } else if (event instanceof DpuAcknowledged e) {
      return with(phase, c.withDpu(e.dpuId(), d -> d.acknowledged(e.attempt(), e.ack())));
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
      return with(Phase.REBOOT, c.withReboot(e.action(), false, e.atMillis(), 0));
    } else if (event instanceof RebootReturned e) {
      String action = c.reboot() + " -> " + (e.ok() ? "ok" : "FAILED") + (e.detail().isEmpty() ? "" : " (" + e.detail() + ")");
      return with(Phase.POST_REBOOT, c.withReboot(action, e.ok(), c.rebootAt(), e.bootWaitDeadlineMillis()));
    } else if (event instanceof DpuReady e) {
      return with(phase, c.withDpu(e.dpuId(), DpuProgress::readyAgain));
    } else if (event instanceof CampaignFinished e) {
      return finish(c, e, historyPerDpu, recentCampaigns);
    }
    throw new IllegalStateException("unhandled event " + event);
  }

  private CoordinatorState finish(Campaign c, CampaignFinished e, int historyPerDpu, int recentCampaigns) {
    Campaign done = c;
    for (Map.Entry<String, String> m : e.notReady().entrySet()) {
      done = done.withDpu(m.getKey(), d -> d.notReadyAfterReboot(m.getValue()));
    }
    done = done.finished(e.outcome(), e.atMillis());

    Map<String, List<HistoryEntry>> nextHistory = new LinkedHashMap<>(history);
    for (DpuProgress d : done.dpus().values()) {
      List<HistoryEntry> entries = new ArrayList<>(nextHistory.getOrDefault(d.id(), List.of()));
      entries.add(new HistoryEntry(done.id(), e.atMillis(), "npu-reboot (" + done.kind() + ")", done.reason(), d.outcome(), d.reason()));
      nextHistory.put(d.id(), tail(entries, historyPerDpu));
    }
    List<CampaignSummary> nextRecent = new ArrayList<>(recent);
    nextRecent.add(new CampaignSummary(done.id(), done.reason(), done.kind(), done.startedAt(), e.atMillis(), e.outcome(),
        done.dpus().size(), done.count(DpuStatus.SHUTDOWN_COMPLETE), done.count(DpuStatus.FAILED),
        done.dpus().values().stream().filter(d -> d.status() == DpuStatus.SHUTDOWN_COMPLETE && !d.ready()).count()));
    return new CoordinatorState(Phase.IDLE, null, done, tail(nextRecent, recentCampaigns), nextHistory);
  }

  private CoordinatorState with(Phase nextPhase, Campaign c) {
    return new CoordinatorState(nextPhase, c, last, recent, history);
  }

  private static <T> List<T> tail(List<T> list, int max) {
    return list.size() <= max ? List.copyOf(list) : List.copyOf(list.subList(list.size() - max, list.size()));
  }
}
