package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.StartReply;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.module.ModuleEntity;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;

/**
 * A campaign that ends before Reboot: `reboot --cancel`, or an abort at the protective-state cap. Each DPU is left
 * with what became of it, and halted gNOI DPUs are restarted through module transitions if so configured.
 */
final class CampaignEnd {
  private final ActorContext<Command> ctx;
  private final NpuSettings settings;
  private final Clock clock;
  private final Random random;
  private final JournalWrites<JournalEvent, CampaignState> journal;
  private final CampaignLinks links;
  private final ActorRef<ModuleEntity.Restart> restarts;
  private final Phases phases;

  CampaignEnd(ActorContext<Command> ctx, NpuSettings settings, Clock clock, Random random, JournalWrites<JournalEvent, CampaignState> journal, CampaignLinks links,
      ActorRef<ModuleEntity.Restart> restarts, Phases phases) {
    this.ctx = ctx;
    this.settings = settings;
    this.clock = clock;
    this.random = random;
    this.journal = journal;
    this.links = links;
    this.restarts = restarts;
    this.phases = phases;
  }

  private static final java.util.Set<Phase> CANCELLABLE =
      java.util.Set.of(Phase.PREPARE_FOR_REBOOT, Phase.NOTIFY_DPUS, Phase.WAIT_FOR_ACKNOWLEDGMENTS);

  ReplyEffect<JournalEvent, CampaignState> onCancel(CampaignState s, Coordinator.Cancel c) {
    if (s.current() == null) {
      return journal.none().thenReply(c.replyTo(), x -> StatusReply.error(new Coordinator.Refused("", "no campaign is in flight")));
    }
    if (!CANCELLABLE.contains(s.phase())) {
      return journal.none().thenReply(c.replyTo(), x -> StatusReply.error(new Coordinator.Refused(s.current().id(), "campaign "
          + s.current().id() + " has reached phase " + s.phase().display() + "; it can only be cancelled before Reboot")));
    }
    // Reports already queued count: they arrived before the cancel.
    List<CampaignEvent> events = links.drain(s);
    Campaign camp = s.applyAll(events, settings.historyPerDpu(), settings.recentCampaigns()).current();
    return endEarly(events, camp, c.reason().isBlank() ? "operator request" : c.reason().trim(), false, c.replyTo());
  }

  /**
   * Ends a campaign before Reboot (cancelled by the operator, or aborted at the protective cap): each DPU
   * with what became of it; halted DPUs are restarted through module transitions if so configured.
   */
  ReplyEffect<JournalEvent, CampaignState> endEarly(List<CampaignEvent> events, Campaign camp, String reason, boolean aborted,
      ActorRef<StatusReply<StartReply>> replyTo) {
    long now = clock.millis();
    Map<String, String> outcomes = new LinkedHashMap<>();
    Map<String, String> restarts = new LinkedHashMap<>();
    for (DpuProgress d : camp.dpus().values()) {
      outcomes.put(d.id(), switch (d.status()) {
        case PENDING -> "not signalled" + (d.attempts() > 0 ? " (no acknowledgment yet)" : "");
        case FAILED -> "no graceful shutdown: " + d.error();
        case ACKNOWLEDGED -> "was shutting down; left to finish (it stays halted until restarted)";
        case SHUTDOWN_COMPLETE -> {
          if (!settings.restartHaltedOnCancel()) {
            yield "left halted (dpu-coordinator.npu.cancel.restart-halted = false)";
          }
          if (!d.protocol().equals(DpuEndpoint.GNOI)) {
            yield "left halted: the seed's protocol cannot restart a DPU; use `chassis module startup`";
          }
          String id = Ids.newId(random, "m", now);
          restarts.put(d.id(), id);
          yield "halted; restarting with a gNOI COLD reboot (module transition " + id + ")";
        }
      });
    }
    events.add(new CampaignEvent.CampaignCancelled(camp.id(), reason, outcomes, now, aborted, restarts));
    StringBuilder perDpu = new StringBuilder();
    outcomes.forEach((dpu, outcome) -> perDpu.append("\n  ").append(dpu).append(": ").append(outcome));
    String said = "campaign " + camp.id() + " cancelled; " + restarts.size() + " halted DPU(s) restarting" + perDpu;
    EffectBuilder<JournalEvent, CampaignState> effect = journal.persist(events).thenRun(next -> {
      ctx.getLog().warn("[campaign={} dpu=all] campaign {} ({}): {}", camp.id(), aborted ? "aborted" : "cancelled", reason, outcomes);
      phases.enter(next, false);
      restartHalted(next.last());
    });
    return replyTo == null ? effect.thenNoReply() : effect.thenReply(replyTo, next -> StatusReply.success(new StartReply(true, camp.id(), said)));
  }

  /**
   * The halted DPUs of a cancelled campaign go to the module entity (through the chassis, which owns what may run
   * when), to be restarted; asked again after a restart of the service, the module entity only starts those it has not.
   */
  void restartHalted(Campaign cancelled) {
    if (cancelled == null) {
      return;
    }
    cancelled.restarts().forEach((dpuId, transitionId) -> {
      DpuProgress d = cancelled.dpus().get(dpuId);
      if (d != null) {
        restarts.tell(new ModuleEntity.Restart(transitionId, d.endpoint(), "restart after cancelled campaign " + cancelled.id(),
            cancelled.finishedAt()));
      }
    });
  }
}
