package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.ModuleCommand;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.StartReply;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.time.Instant;

/**
 * Whether a module transition asked for can start, as far as the module entity goes (a campaign in flight is the
 * chassis' rule): the DPU is configured, the kind is known and its DPU speaks a protocol that can do it, the DPU is in
 * no other transition, and it is not already where it was asked to go. Pure.
 */
final class ModuleRequests {
  private ModuleRequests() {}

  /** The answer when the transition does not start (a refusal, or "nothing to do"); null when it may. */
  static StartReply refusal(ModuleBook s, ModuleCommand c, NpuSettings settings) {
    DpuEndpoint dpu = settings.dpu(c.dpuId()).orElse(null);
    if (dpu == null) {
      return new StartReply(false, "", "unknown DPU '" + c.dpuId() + "'; configured: "
          + String.join(", ", settings.dpus().stream().map(DpuEndpoint::id).toList()));
    }
    ModuleKind kind = c.kind();
    if ((kind == ModuleKind.COLD || kind == ModuleKind.WARM) && !dpu.protocol().equals(DpuEndpoint.GNOI)) {
      return new StartReply(false, "", "method " + kind.method() + " needs gNOI; " + dpu.id() + " speaks "
          + dpu.protocol() + ", which only halts");
    }
    ModuleState m = s.modules().get(dpu.id());
    if (m != null && m.transition() != null) {
      Transition t = m.transition();
      return new StartReply(false, t.id(), dpu.id() + " is already in a " + t.kind() + " (" + t.id() + ", phase "
          + t.phase() + ", since " + Instant.ofEpochMilli(t.startedAt()) + "); one transition per DPU at a time");
    }
    if (!c.force() && kind == ModuleKind.SHUTDOWN && m != null && m.down()) {
      // Already where it was asked to go: nothing is halted, powered or journaled again (`--force` does it anyway).
      String since = m.lastChange() <= 0 ? "" : " since " + Instant.ofEpochMilli(m.lastChange())
          + (m.lastOutcome().isEmpty() ? "" : " (" + m.lastOutcome() + ")");
      return new StartReply(true, "", dpu.id() + " is already administratively down" + since
          + "; nothing done (--force runs the shutdown anyway)");
    }
    return null;
  }
}
