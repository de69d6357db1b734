package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.common.CborSerializable;
import io.github.dpucoordinator.npu.journal.Histories;
import io.github.dpucoordinator.npu.journal.HistoryEntry;
import io.github.dpucoordinator.npu.module.ModuleEvent.LegacyAdopted;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModuleHaltAcknowledged;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModuleHalted;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModulePowerIssued;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModulePoweredOn;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModuleTransitionFinished;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModuleTransitionStarted;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.TransitionOutcome;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The module-transition entity's state, immutable: each DPU as a chassis module (administratively down or up, the one
 * transition it may be in, how the last one ended), and the history lines of its transitions. {@code adopted}: the
 * modules of a journal written before the entities were split have been taken over.
 */
public record ModuleBook(Map<String, ModuleState> modules, Map<String, List<HistoryEntry>> history, boolean adopted,
    Map<String, List<Long>> halts) implements CborSerializable {

  /** {@code halts}: each DPU's recent graceful HALT durations (ms from the acknowledgment), which gNOI's polling plans from; none in snapshots written before they were kept. */
  public ModuleBook {
    halts = halts == null ? Map.of() : halts;
  }

  public ModuleBook(Map<String, ModuleState> modules, Map<String, List<HistoryEntry>> history, boolean adopted) {
    this(modules, history, adopted, Map.of());
  }

  public static ModuleBook empty() {
    return new ModuleBook(Map.of(), Map.of(), false);
  }

  /** The recent HALT durations of {@code dpuId}, oldest first. */
  public List<Long> haltsOf(String dpuId) {
    return halts.getOrDefault(dpuId, List.of());
  }

  /** The module transition {@code id} of {@code dpuId}, if that is the one in flight. */
  public Transition transition(String dpuId, String id) {
    ModuleState m = modules.get(dpuId);
    return m != null && m.transition() != null && m.transition().id().equals(id) ? m.transition() : null;
  }

  /** Whether {@code dpuId} is administratively down (shut down by `chassis module shutdown`). */
  public boolean down(String dpuId) {
    ModuleState m = modules.get(dpuId);
    return m != null && m.down();
  }

  /** How transition {@code id} of {@code dpuId} ended, from the DPU's history. */
  public TransitionOutcome outcomeOf(String dpuId, String id) {
    return history.getOrDefault(dpuId, List.of()).stream().filter(h -> h.campaignId().equals(id))
        .map(h -> new TransitionOutcome(id, dpuId, h.outcome(), h.detail())).findFirst()
        .orElse(new TransitionOutcome(id, dpuId, "unknown", "no such transition in the DPU's history"));
  }

  /** Whether transition {@code id} of {@code dpuId} was started: it is in flight or in the DPU's history. */
  public boolean started(String dpuId, String id) {
    return transition(dpuId, id) != null || history.getOrDefault(dpuId, List.of()).stream().anyMatch(h -> h.campaignId().equals(id));
  }

  /** The id of the last transition of {@code dpuId} that ended ("" when none has). */
  public String lastTransitionId(String dpuId) {
    List<HistoryEntry> h = history.getOrDefault(dpuId, List.of());
    return h.isEmpty() ? "" : h.get(h.size() - 1).campaignId();
  }

  /** The state after {@code event}; each DPU keeps its last {@code historyPerDpu} history lines. */
  public ModuleBook apply(ModuleEvent event, int historyPerDpu) {
    if (event instanceof LegacyAdopted e) {
      Map<String, ModuleState> next = new LinkedHashMap<>(e.modules());
      next.putAll(modules); // what this entity journaled itself is newer
      return new ModuleBook(next, history, true, halts);
    }
    if (event instanceof ModuleTransitionStarted e) {
      ModuleState old = modules.get(e.dpu().id());
      Transition.Step phase = e.kind() == ModuleKind.STARTUP ? Transition.Step.POWERING_ON : Transition.Step.HALTING;
      Transition t = new Transition(e.campaignId(), e.kind(), e.reason(), e.dpu(), phase, false, false, "", e.atMillis(), 0, -1L, false, null);
      return with(new ModuleState(e.dpu().id(), old != null && old.down(), t, old == null ? "" : old.lastOutcome(), e.atMillis()));
    }
    String dpuId = event.dpuId();
    ModuleState m = modules.get(dpuId);
    Transition t = transition(dpuId, event.campaignId());
    if (t == null) {
      return this; // only events of the transition in flight are ever persisted
    }
    if (event instanceof ModuleEvent.ModuleHaltBaselined e) {
      return with(new ModuleState(dpuId, m.down(), t.baselined(e.baseline()), m.lastOutcome(), m.lastChange()));
    }
    if (event instanceof ModuleHaltAcknowledged e) {
      return with(new ModuleState(dpuId, m.down(), t.haltAcknowledged(e.countBefore()), m.lastOutcome(), m.lastChange()));
    }
    if (event instanceof ModuleHalted e) {
      String detail = e.ok() ? "halted" + (e.detail().isEmpty() ? "" : " (" + e.detail() + ")") : "halt failed: " + e.detail();
      ModuleBook next = with(new ModuleState(dpuId, m.down(), t.halted(e.ok(), detail), m.lastOutcome(), m.lastChange()));
      return e.ok() && e.haltMillis() >= 0 ? next.withHalt(dpuId, e.haltMillis()) : next;
    }
    if (event instanceof ModulePowerIssued) {
      return with(new ModuleState(dpuId, m.down(), t.with(t.phase(), t.acknowledged(), true, t.detail(), 0), m.lastOutcome(), m.lastChange()));
    }
    if (event instanceof ModulePoweredOn e) {
      return with(new ModuleState(dpuId, m.down(), t.with(Transition.Step.WAITING_FOR_BOOT, t.acknowledged(), true, e.detail(),
          e.bootDeadlineMillis()), m.lastOutcome(), m.lastChange()));
    }
    ModuleTransitionFinished e = (ModuleTransitionFinished) event; // the last of the sealed kinds
    // A refused transition changed nothing: the DPU stays as it was.
    boolean down = e.outcome().equals("refused") ? m.down() : t.kind().leavesDown();
    Map<String, ModuleState> next = new LinkedHashMap<>(modules);
    next.put(dpuId, new ModuleState(dpuId, down, null, e.outcome() + ": " + t.kind() + (e.detail().isEmpty() ? "" : " (" + e.detail() + ")"),
        e.atMillis()));
    return new ModuleBook(next, Histories.with(history, dpuId,
        new HistoryEntry(t.id(), e.atMillis(), "planned " + t.kind(), t.reason(), e.outcome(), e.detail()), historyPerDpu), adopted, halts);
  }

  private ModuleBook with(ModuleState m) {
    Map<String, ModuleState> next = new LinkedHashMap<>(modules);
    next.put(m.dpuId(), m);
    return new ModuleBook(next, history, adopted, halts);
  }

  private ModuleBook withHalt(String dpuId, long millis) {
    return new ModuleBook(modules, history, adopted, Histories.with(halts, dpuId, millis, io.github.dpucoordinator.npu.settings.NpuSettings.HALTS_KEPT));
  }
}
