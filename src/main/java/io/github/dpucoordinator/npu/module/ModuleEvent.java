package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.util.Map;

/**
 * What the module-transition entity journals: single-DPU transitions (`chassis module shutdown|startup`, named-pipe
 * halt/cold/warm), {@code campaignId} being the transition's id. Journals written before the entities were split
 * hold these in the coordinator's journal under {@code CampaignEvent$...}; they are read as these classes.
 */
public sealed interface ModuleEvent extends JournalEvent {
  String dpuId();

  /** One transition per DPU at a time ({@code kind}: shutdown, startup, halt, cold, warm). */
  record ModuleTransitionStarted(String campaignId, DpuEndpoint dpu, ModuleKind kind, String reason, long atMillis) implements ModuleEvent {
    @Override
    public String dpuId() {
      return dpu.id();
    }
  }

  /** The DPU's reboot record before the HALT (gNOI), journaled before the HALT is sent: a restart recognises a HALT that got through. */
  record ModuleHaltBaselined(String campaignId, String dpuId, DpuTransport.Baseline baseline, long atMillis) implements ModuleEvent {}

  /** The DPU acknowledged the HALT of a module shutdown (after a restart it is only polled). */
  /** {@code countBefore}: gNOI's evidence of completion, the reboot count before the HALT (-1 none; null in older journals). */
  record ModuleHaltAcknowledged(String campaignId, String dpuId, String ack, long atMillis, Long countBefore) implements ModuleEvent {
    public ModuleHaltAcknowledged {
      countBefore = countBefore == null ? -1L : countBefore;
    }
  }

  /**
   * The HALT finished, or failed (the power action follows either way). {@code haltMillis}: how long it took from its
   * acknowledgment, as the NPU estimated it (-1: not known; null in journals written before it was kept).
   */
  record ModuleHalted(String campaignId, String dpuId, boolean ok, String detail, long atMillis, Long haltMillis) implements ModuleEvent {
    public ModuleHalted {
      haltMillis = haltMillis == null ? -1L : haltMillis;
    }
  }

  /** Journaled before the power command runs, so it runs at most once per transition. */
  record ModulePowerIssued(String campaignId, String dpuId, String action, long atMillis) implements ModuleEvent {}

  /** The power-on command succeeded; the startup now waits for the DPU until bootDeadlineMillis. */
  record ModulePoweredOn(String campaignId, String dpuId, String detail, long bootDeadlineMillis, long atMillis) implements ModuleEvent {}

  record ModuleTransitionFinished(String campaignId, String dpuId, String outcome, String detail, long atMillis) implements ModuleEvent {}

  /**
   * The modules as the coordinator's journal had them before the entities were split (administratively down, a
   * transition in flight, the last outcome), taken over once; {@code campaignId} is "legacy".
   */
  record LegacyAdopted(String campaignId, Map<String, ModuleState> modules, long atMillis) implements ModuleEvent {
    @Override
    public String dpuId() {
      return "all";
    }
  }
}
