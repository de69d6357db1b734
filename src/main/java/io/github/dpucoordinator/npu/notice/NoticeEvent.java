package io.github.dpucoordinator.npu.notice;

import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Decision;
import java.util.Map;

/**
 * What the entity of DPU-initiated reboots journals: notices and what became of them ({@code campaignId} is the
 * DPU's notice id) and changes nobody planned. Journals written before the entities were split hold these in the
 * coordinator's journal under {@code CampaignEvent$...}; they are read as these classes.
 */
public sealed interface NoticeEvent extends JournalEvent {
  String dpuId();

  /** A DPU announced (round 1) or re-announced (after a postponement) a reboot of its own. */
  record DpuRebootNoticed(String campaignId, String dpuId, String reason, long plannedMillis, long hardDeadlineMillis, int round,
      long atMillis) implements NoticeEvent {}

  /** What the NPU answered: ACK, or POSTPONE until {@code untilMillis}; {@code detail}: why (hooks, caps). */
  record DpuRebootAnswered(String campaignId, String dpuId, Decision decision, long untilMillis, String detail, long atMillis)
      implements NoticeEvent {}

  /** The DPU's own reboot was postponed on the DPU (dpu-postpone) until {@code untilMillis}, by {@code by}. */
  record DpuRebootPostponedOnDpu(String campaignId, String dpuId, long untilMillis, String by, String reason, long atMillis)
      implements NoticeEvent {}

  /** The DPU went down (it said so, or its hard deadline passed); it is expected back by {@code expectBackByMillis}. */
  record DpuRebootGoing(String campaignId, String dpuId, String why, long expectBackByMillis, long atMillis, String leavingBootId)
      implements NoticeEvent {}

  /** The DPU-initiated reboot is over: back (ok), not back in time, or superseded by a new notice. */
  record DpuRebootFinished(String campaignId, String dpuId, String outcome, String detail, long atMillis) implements NoticeEvent {}

  /** Outside anything planned, a DPU went away or came back ({@code what}); recorded apart from planned reboots. */
  record UnplannedEvent(String campaignId, String dpuId, String what, String detail, long atMillis) implements NoticeEvent {}

  /** The notices open in the coordinator's journal before the entities were split, taken over once ({@code campaignId} "legacy"). */
  record LegacyAdopted(String campaignId, Map<String, Notice> notices, long atMillis) implements NoticeEvent {
    @Override
    public String dpuId() {
      return "all";
    }
  }
}
