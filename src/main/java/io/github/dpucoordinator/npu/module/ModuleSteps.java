package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.dpu.LinkReport;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModuleHaltAcknowledged;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModuleHalted;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModulePoweredOn;
import io.github.dpucoordinator.npu.module.ModuleEvent.ModuleTransitionFinished;
import io.github.dpucoordinator.npu.protocol.ModuleKind;

/**
 * What a module transition journals next, decided from what just happened: a report of the DPU's actor, the power
 * command's result, a restart after the power command was issued, the boot wait running out. Pure: the
 * {@link ModuleEntity} journals the event and then does what it leads to.
 */
final class ModuleSteps {
  private ModuleSteps() {}

  /** The event a report of the DPU's actor leads to, or null for none. */
  static ModuleEvent fromReport(Transition t, String dpuId, LinkReport report, long now) {
    boolean halting = t.phase() == Transition.Step.HALTING;
    boolean rebootOnly = t.kind().rebootOnly(); // halt, cold, warm: no power action after
    if (report instanceof LinkReport.Baselined b && halting) {
      return new ModuleEvent.ModuleHaltBaselined(t.id(), dpuId, b.baseline(), now);
    }
    if (report instanceof LinkReport.Acknowledged a && halting && !t.acknowledged()) {
      return new ModuleHaltAcknowledged(t.id(), dpuId, a.reply().ack(), now, a.reply().countBefore());
    }
    if (report instanceof LinkReport.Completed c && halting) {
      if (!rebootOnly) {
        return new ModuleHalted(t.id(), dpuId, true, c.detail(), now, c.degraded() ? -1L : c.haltMillis()); // as campaigns: a degraded halt is not learnt
      }
      String what = t.kind() == ModuleKind.HALT ? "halted" : "rebooted (" + t.kind().method() + ")";
      return new ModuleTransitionFinished(t.id(), dpuId, "ok", what + (c.detail().isEmpty() ? "" : " (" + c.detail() + ")"), now);
    }
    if (report instanceof LinkReport.GaveUp g && halting) {
      // a shutdown powers off anyway
      return rebootOnly ? new ModuleTransitionFinished(t.id(), dpuId, "failed", g.reason(), now)
          : new ModuleHalted(t.id(), dpuId, false, g.reason(), now, -1L);
    }
    if (report instanceof LinkReport.ProtectiveChanged p && halting && !p.state().isEmpty()) {
      // Never halt or power off a DPU during a firmware update or crash dump: refuse, and say why.
      return new ModuleTransitionFinished(t.id(), dpuId, "refused", "the DPU reports protective state " + p.state()
          + "; nothing was halted or powered off, try again when it has ended", now);
    }
    if (report instanceof LinkReport.Ready && t.phase() == Transition.Step.WAITING_FOR_BOOT) {
      return new ModuleTransitionFinished(t.id(), dpuId, "ok", "answering and Listening", now);
    }
    return null;
  }

  /** The power command returned {@code r}: a shutdown is over; a startup waits for the DPU until its boot wait ends. */
  static ModuleEvent afterPower(Transition t, String dpuId, StepResult r, long now, long bootWaitMillis) {
    if (t.kind() == ModuleKind.SHUTDOWN) {
      String detail = t.detail() + "; power-off " + (r.ok() ? "done" : "failed: " + r.detail())
          + (r.ok() && !r.detail().isEmpty() ? " (" + r.detail() + ")" : "");
      return new ModuleTransitionFinished(t.id(), dpuId, r.ok() ? haltOutcome(t) : "failed", detail, now);
    }
    if (!r.ok()) {
      return new ModuleTransitionFinished(t.id(), dpuId, "failed", "power-on failed: " + r.detail(), now);
    }
    return new ModulePoweredOn(t.id(), dpuId, "powered on" + (r.detail().isEmpty() ? "" : " (" + r.detail() + ")"), now + bootWaitMillis, now);
  }

  /** Recovered after the power command was issued, with no result on record: it is never run twice. */
  static ModuleEvent afterRestart(Transition t, String dpuId, long now, long bootWaitMillis) {
    if (t.kind() == ModuleKind.SHUTDOWN) {
      return new ModuleTransitionFinished(t.id(), dpuId, haltOutcome(t),
          t.detail() + "; power-off was issued before an NPU service restart, its result is unknown", now);
    }
    return new ModulePoweredOn(t.id(), dpuId, "power-on was issued before an NPU service restart", now + bootWaitMillis, now);
  }

  /** The boot wait of a startup passed without the DPU Listening ({@code seen}: what it last said, or null). */
  static ModuleEvent bootTimedOut(Transition t, String dpuId, long bootWaitSeconds, String seen, long now) {
    return new ModuleTransitionFinished(t.id(), dpuId, "failed", "not Listening within the boot wait (" + bootWaitSeconds + " s)"
        + (seen == null ? "" : "; last seen: " + seen), now);
  }

  private static String haltOutcome(Transition t) {
    return t.haltFailed() ? "degraded" : "ok";
  }
}
