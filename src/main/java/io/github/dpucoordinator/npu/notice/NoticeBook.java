package io.github.dpucoordinator.npu.notice;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.npu.journal.Histories;
import io.github.dpucoordinator.npu.journal.HistoryEntry;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootAnswered;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootFinished;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootGoing;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootNoticed;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootPostponedOnDpu;
import io.github.dpucoordinator.npu.notice.NoticeEvent.LegacyAdopted;
import io.github.dpucoordinator.npu.notice.NoticeEvent.UnplannedEvent;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Decision;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The state of the entity of DPU-initiated reboots, immutable: the notice open for each DPU, and the history lines of
 * its own reboots and of changes nobody planned. {@code adopted}: the notices of a journal written before the entities
 * were split have been taken over.
 */
public record NoticeBook(Map<String, Notice> notices, Map<String, List<HistoryEntry>> history, boolean adopted)
    implements CborSerializable {

  public static NoticeBook empty() {
    return new NoticeBook(Map.of(), Map.of(), false);
  }

  /** The DPU-initiated reboot of {@code dpuId} with id {@code id}, if that is the one in flight. */
  public Notice notice(String dpuId, String id) {
    Notice n = notices.get(dpuId);
    return n != null && n.id().equals(id) ? n : null;
  }

  /** The state after {@code event}; each DPU keeps its last {@code historyPerDpu} history lines. */
  public NoticeBook apply(NoticeEvent event, int historyPerDpu) {
    if (event instanceof LegacyAdopted e) {
      Map<String, Notice> next = new LinkedHashMap<>(e.notices());
      next.putAll(notices); // what this entity journaled itself is newer
      return new NoticeBook(next, history, true);
    }
    if (event instanceof UnplannedEvent e) {
      return new NoticeBook(notices, Histories.with(history, e.dpuId(),
          new HistoryEntry(e.campaignId(), e.atMillis(), "unplanned: " + e.what(), "", "unplanned", e.detail()), historyPerDpu), adopted);
    }
    Map<String, Notice> next = new LinkedHashMap<>(notices);
    if (event instanceof DpuRebootNoticed e) {
      Notice old = notice(e.dpuId(), e.campaignId());
      next.put(e.dpuId(), old != null ? old.round(Math.max(old.round(), e.round()))
          : new Notice(e.campaignId(), e.dpuId(), e.reason(), e.plannedMillis(), e.hardDeadlineMillis(), e.round(), null, 0, "", false, "",
              0, 0, ""));
      return new NoticeBook(next, history, adopted);
    }
    Notice n = notice(event.dpuId(), event.campaignId());
    if (n == null) {
      return this; // only events of the notice in flight are ever persisted
    }
    if (event instanceof DpuRebootAnswered e) {
      next.put(e.dpuId(), n.answered(e.decision(), e.untilMillis(), e.detail()));
    } else if (event instanceof DpuRebootPostponedOnDpu e) {
      next.put(e.dpuId(), n.answered(Decision.POSTPONE, e.untilMillis(), "postponed on the DPU by " + e.by()
          + (e.reason().isBlank() ? "" : " (" + e.reason() + ")")));
    } else if (event instanceof DpuRebootGoing e) {
      next.put(e.dpuId(), n.went(e.why(), e.atMillis(), e.expectBackByMillis(), e.leavingBootId()));
    } else if (event instanceof DpuRebootFinished e) {
      next.remove(e.dpuId());
      String detail = "hard deadline " + Instant.ofEpochMilli(n.hardDeadline()) + ", " + n.round() + " round(s)"
          + (n.postponedUntil() > 0 ? ", postponed until " + Instant.ofEpochMilli(n.postponedUntil()) : "")
          + (n.going() ? ", went (" + n.why() + ")" : "") + (e.detail().isEmpty() ? "" : "; " + e.detail());
      return new NoticeBook(next, Histories.with(history, e.dpuId(), new HistoryEntry(n.id(), e.atMillis(),
          "planned dpu-reboot (DPU-initiated)", n.reason(), e.outcome(), detail), historyPerDpu), adopted);
    }
    return new NoticeBook(next, history, adopted);
  }
}
