package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.Command;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.WatchReport;
import java.time.Clock;
import java.util.Random;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.persistence.typed.javadsl.Effect;

/**
 * Events nobody planned (R14): outside campaigns each {@link DpuActor} with no work watches its DPU, and a DPU that
 * goes away, comes back or restarts when nothing planned explains it is recorded in its history.
 */
final class UnplannedEvents {
  private final ActorContext<Command> ctx;
  private final DpuFleet fleet;
  private final Clock clock;
  private final Random random;
  private final JournalWrites effects;

  UnplannedEvents(ActorContext<Command> ctx, DpuFleet fleet, Clock clock, Random random, JournalWrites effects) {
    this.ctx = ctx;
    this.fleet = fleet;
    this.clock = clock;
    this.random = random;
    this.effects = effects;
  }

  /** A campaign's work follows its DPUs: the watch rests meanwhile and starts afresh when it is over. */
  void campaignPhase(Phase phase) {
    fleet.watch(phase == Phase.IDLE);
  }

  /** Something planned for this DPU (a module transition, its own reboot) ended: its next state is no news. */
  void settled(String dpuId) {
    fleet.release(dpuId, "");
  }

  Effect<CampaignEvent, CoordinatorState> onWatchReport(CoordinatorState s, WatchReport w) {
    String planned = planned(s, w.dpuId());
    if (planned != null) {
      ctx.getLog().debug("[campaign=none dpu={}] {} ({}): planned, {}", w.dpuId(), w.what(), w.detail(), planned);
      return effects.none();
    }
    String id = Ids.newId(random, "u", clock.millis());
    return effects.persist(new CampaignEvent.UnplannedEvent(id, w.dpuId(), w.what(), w.detail(), clock.millis())).thenRun(next ->
        ctx.getLog().warn("[campaign={} dpu={}] unplanned: the DPU {} ({}); recorded in its history", id, w.dpuId(), w.what(), w.detail()));
  }

  /** Why this DPU's change is part of something planned, or null when nothing planned explains it. */
  private String planned(CoordinatorState s, String dpuId) {
    if (s.current() != null && s.current().dpus().containsKey(dpuId)) {
      return "campaign " + s.current().id();
    }
    ModuleState m = s.modules().get(dpuId);
    if (m != null && (m.transition() != null || m.down())) {
      return "module transition or administratively down";
    }
    if (s.notices().containsKey(dpuId)) {
      return "DPU-initiated reboot " + s.notices().get(dpuId).id();
    }
    return null;
  }
}
