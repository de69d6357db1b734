package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.coordinator.Coordinator.ForceDone;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * R12, in ErrorLogging: a DPU that did not shut down gracefully in time gets its force action before the
 * NPU's own action. Each escalation is journaled before its action runs, so the action runs at most once;
 * a service restarted in between records it as issued and does not run it again. Warm campaigns never
 * escalate (the DPUs keep power), and a DPU in a protective state is never forced.
 */
final class Escalations {
  private final ActorContext<Command> ctx;
  private final NpuSettings settings;
  private final HostActions host;
  private final Clock clock;

  Escalations(ActorContext<Command> ctx, NpuSettings settings, HostActions host, Clock clock) {
    this.ctx = ctx;
    this.settings = settings;
    this.host = host;
    this.clock = clock;
  }

  /** The escalations still to issue in campaign {@code c}. */
  List<CampaignEvent> toIssue(Campaign c, long now) {
    List<CampaignEvent> events = new ArrayList<>();
    if (c.kind() == CampaignKind.WARM) {
      return events;
    }
    for (DpuProgress d : c.dpus().values()) {
      if (d.status() != DpuStatus.FAILED || d.isEscalated()) {
        continue;
      }
      if (d.isProtective()) {
        ctx.getLog().error("[campaign={} dpu={}] not forcing: it reports protective state {}", c.id(), d.id(), d.protective());
        continue;
      }
      String command = settings.negotiation().forceCommandFor(d.id());
      events.add(new CampaignEvent.DpuEscalated(c.id(), d.id(), d.error(), command.isBlank() ? "dry run" : command, now));
    }
    return events;
  }

  /** Escalations issued whose force action has not reported yet. */
  static boolean running(Campaign c) {
    return c.dpus().values().stream().anyMatch(DpuProgress::isForcing);
  }

  void run(CampaignEvent.DpuEscalated e) {
    ctx.getLog().warn("[campaign={} dpu={}] ESCALATION: graceful shutdown did not finish ({}); running the force action: {}",
        e.campaignId(), e.dpuId(), e.reason(), e.action());
    ctx.pipeToSelf(host.force(e.campaignId(), e.dpuId()), (result, failure) -> new ForceDone(e.campaignId(), e.dpuId(),
        Failures.orFailed(result, failure, "force")));
  }

  /** After a restart: an issued force action already ran, or was cut off with the service; never run it twice. */
  void recover(Campaign c) {
    c.dpus().values().stream().filter(DpuProgress::isForcing).forEach(d ->
        ctx.getSelf().tell(new ForceDone(c.id(), d.id(),
            new StepResult("force", true, "service restarted after the force action was issued; not run again", 0))));
  }

  /** The force action's result, journaled; null when it is not (or no longer) expected. */
  CampaignEvent.DpuForced onDone(CampaignState s, ForceDone f) {
    if (!s.isCurrent(f.campaignId())) {
      return null;
    }
    DpuProgress d = s.current().dpus().get(f.dpuId());
    if (d == null || !d.isForcing()) {
      return null;
    }
    if (!f.result().ok()) {
      ctx.getLog().error("[campaign={} dpu={}] force action failed: {}", f.campaignId(), f.dpuId(), f.result().detail());
    }
    return new CampaignEvent.DpuForced(f.campaignId(), f.dpuId(), f.result().ok(), f.result().detail(), clock.millis());
  }
}
