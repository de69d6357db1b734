package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.common.Deadline;
import io.github.dpucoordinator.npu.dpu.DpuFleet;
import io.github.dpucoordinator.npu.dpu.LinkStart;
import io.github.dpucoordinator.npu.module.ModuleEntity.Advance;
import io.github.dpucoordinator.npu.module.ModuleEntity.BootTimeout;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * What each phase of a module transition does, for the {@link ModuleEntity}: the DPU's actor halts it (HALTING) or
 * reports it Listening again (WAITING_FOR_BOOT, with a timer for the boot wait), and the power command runs in
 * between. Run after each journaled step and again after a restart, with timers armed from the journaled deadlines.
 */
final class ModuleWork {
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final DpuFleet<Command> fleet;
  private final Clock clock;
  /** Transient, rebuilt after a restart: the transition each DPU's actor works for. */
  private final Map<String, String> moduleWork = new HashMap<>();

  ModuleWork(ActorContext<Command> ctx, TimerScheduler<Command> timers, DpuFleet<Command> fleet, Clock clock) {
    this.ctx = ctx;
    this.timers = timers;
    this.fleet = fleet;
    this.clock = clock;
  }

  /** The side effects of a module transition's phase; after a restart {@code recovered} is true. */
  void enter(ModuleBook s, String dpuId, boolean recovered) {
    ModuleState m = s.modules().get(dpuId);
    Transition t = m == null ? null : m.transition();
    if (t == null) {
      stopModuleLink(dpuId);
      return;
    }
    switch (t.phase()) {
      case HALTING -> startModuleLink(t, new LinkStart(t.id(), LinkStart.Mode.SHUTDOWN,
          new SignalRequest(t.id(), "cold", t.reason(), 0, t.kind().method()),
          t.acknowledged(), 0, 0, t.countBefore(), t.baseline(), s.haltsOf(dpuId)));
      case WAITING_FOR_BOOT -> {
        Deadline.armAt(timers, clock, "module-boot-" + dpuId, new BootTimeout(dpuId, t.id()), t.bootDeadline());
        startModuleLink(t, new LinkStart(t.id(), LinkStart.Mode.READY, null, true, 0));
      }
      default -> {
        stopModuleLink(dpuId);
        // The power command: issue it, or (after a restart) settle what an issued one left behind.
        if (!t.powerIssued() || recovered) {
          ctx.getSelf().tell(new Advance(dpuId, t.id()));
        }
      }
    }
  }

  /** The transition of {@code dpuId} is over: its actor goes back to idle, and what the DPU looks like next is no news. */
  void finished(String dpuId) {
    stopModuleLink(dpuId);
    fleet.release(dpuId, "");
  }

  void cancelBootWait(String dpuId) {
    timers.cancel("module-boot-" + dpuId);
  }

  private void startModuleLink(Transition t, LinkStart start) {
    stopModuleLink(t.dpu().id());
    moduleWork.put(t.dpu().id(), t.id());
    fleet.engage(t.dpu(), start);
  }

  private void stopModuleLink(String dpuId) {
    String id = moduleWork.remove(dpuId);
    if (id != null) {
      fleet.release(dpuId, id);
    }
  }
}
