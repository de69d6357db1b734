package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.journal.Histories;
import io.github.dpucoordinator.npu.journal.HistoryEntry;
import io.github.dpucoordinator.npu.journal.JournalHealth;
import io.github.dpucoordinator.npu.module.ModuleBook;
import io.github.dpucoordinator.npu.module.ModuleState;
import io.github.dpucoordinator.npu.module.Transition;
import io.github.dpucoordinator.npu.notice.Notice;
import io.github.dpucoordinator.npu.notice.NoticeBook;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.util.List;
import java.util.Map;

/**
 * The status document served by the admin API and printed by {@code dpuctl status --json}:
 * the phase, the campaign in flight (or the last one) with each DPU, recent campaigns and each
 * DPU's reboot history; {@code haltHistory}: each DPU's recent graceful halt durations (ms from its acknowledgment), which
 * gNOI's polling plans from.
 */
public record StatusView(String phase, long nowMillis, long journalEvents, CampaignView lastCampaign, List<CampaignSummary> recent,
    List<ModuleView> modules, Map<String, List<HistoryEntry>> history, List<Notice> dpuReboots,
    List<JournalHealth.Failure> journalFailures, Map<String, List<Long>> haltHistory) {

  /** {@code failures}: the entities that cannot write their journal now (empty: every write succeeds). */
  public StatusView withJournalFailures(List<JournalHealth.Failure> failures) {
    return new StatusView(phase, nowMillis, journalEvents, lastCampaign, recent, modules, history, dpuReboots, List.copyOf(failures),
        haltHistory);
  }

  /**
   * A configured DPU as a chassis module: {@code adminState} "up" or "down" (after `chassis module
   * shutdown`), the transition in flight if any, how the last one ended, and {@code haltHistory}: its module shutdowns'
   * recent HALT durations (ms from the acknowledgment), which gNOI's polling plans the next from.
   */
  public record ModuleView(String id, String endpoint, String protocol, String adminState, TransitionView transition,
      String lastOutcome, long lastChange, List<Long> haltHistory) {}

  public record TransitionView(String id, String kind, String phase, String reason, long startedAt) {}

  /** {@code rebootAt}: when the reboot action was issued, i.e. when the NPU stopped waiting for its DPUs. */
  public record CampaignView(String id, String reason, String kind, boolean inFlight, String outcome, long startedAt,
      long rebootAt, long finishedAt, long ackDeadline, long bootWaitDeadline, String reboot, List<StepResult> preRebootTasks,
      List<DpuView> dpus) {}

  /**
   * One DPU: {@code state} is where it is in this campaign (PENDING, NOTIFYING, ACKNOWLEDGED,
   * SHUTDOWN_COMPLETE, FAILED, then WAITING_FOR_BOOT, READY or NOT_READY after the reboot);
   * {@code lastSeen} is the DPU's own latest reported state or the latest error reaching it; {@code acknowledgedAt} and
   * {@code completedAt}: when its acknowledgment and its completion were journaled (ms; 0 not yet).
   */
  public record DpuView(String id, String endpoint, String state, int attempts, String outcome, String reason, String ack,
      String lastSeen, String hold, String protective, long acknowledgedAt, long completedAt) {}

  /**
   * The document from the three entities' states: campaigns ({@code s}), module transitions and DPU-initiated reboots;
   * each DPU's history is theirs merged in time order, the last {@code historyPerDpu} lines.
   */
  public static StatusView of(CoordinatorState s, ModuleBook moduleBook, NoticeBook noticeBook, List<DpuEndpoint> dpus,
      Map<String, String> lastSeen, long now, long journalEvents, int historyPerDpu) {
    Campaign c = s.current() != null ? s.current() : s.last();
    CampaignView view = c == null ? null : view(c, s.current() != null, s.phase(), lastSeen);
    List<ModuleView> modules = dpus.stream().map(d -> {
      ModuleState m = moduleBook.modules().get(d.id());
      Transition t = m == null ? null : m.transition();
      return new ModuleView(d.id(), d.host() + ":" + d.port(), d.protocol(), m != null && m.down() ? "down" : "up",
          t == null ? null : new TransitionView(t.id(), t.kind().label(), t.phase().name(), t.reason(), t.startedAt()),
          m == null ? "" : m.lastOutcome(), m == null ? 0 : m.lastChange(), moduleBook.haltsOf(d.id()));
    }).toList();
    return new StatusView(s.phase().display(), now, journalEvents, view, s.recent(), modules,
        Histories.merged(historyPerDpu, s.history(), moduleBook.history(), noticeBook.history()), List.copyOf(noticeBook.notices().values()),
        List.of(), s.halts());
  }

  private static CampaignView view(Campaign c, boolean inFlight, Phase phase, Map<String, String> lastSeen) {
    // after the NPU's reboot: a campaign cancelled or aborted before it shows where its DPUs were left
    boolean afterReboot = inFlight ? phase == Phase.POST_REBOOT : c.rebootAt() > 0;
    List<DpuView> dpus = c.dpus().values().stream()
        .map(d -> new DpuView(d.id(), d.host() + ":" + d.port(), state(d, inFlight, afterReboot), d.attempts(),
            inFlight ? "pending" : d.outcome(), d.reason(), d.ack(), inFlight ? lastSeen.getOrDefault(d.id(), "") : "",
            inFlight ? d.hold() : "", inFlight ? d.protective() : "", d.acknowledgedAt(), d.completedAt()))
        .toList();
    return new CampaignView(c.id(), c.reason(), c.kind().label(), inFlight, inFlight ? "in-flight (" + phase.display() + ")" : c.outcome(),
        c.startedAt(), c.rebootAt(), c.finishedAt(), c.ackDeadline(), c.bootWaitDeadline(), c.reboot(), c.preTasks(), dpus);
  }

  private static String state(DpuProgress d, boolean inFlight, boolean afterReboot) {
    if (d.status() == DpuStatus.FAILED) {
      return "FAILED";
    }
    if (afterReboot && d.status() == DpuStatus.SHUTDOWN_COMPLETE) {
      return d.ready() ? "READY" : inFlight && d.notReady().isEmpty() ? "WAITING_FOR_BOOT" : "NOT_READY";
    }
    if (inFlight && d.isProtective()) {
      return "PROTECTIVE";
    }
    if (inFlight && d.status() == DpuStatus.PENDING && !d.hold().isEmpty()) {
      return "DEFERRED";
    }
    if (d.status() == DpuStatus.PENDING && d.attempts() > 0) {
      return "NOTIFYING";
    }
    return d.status().name();
  }
}
