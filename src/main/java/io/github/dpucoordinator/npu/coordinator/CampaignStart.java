package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.Command;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.StartCampaign;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.StartReply;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.time.Clock;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.persistence.typed.javadsl.Effect;

/**
 * Starting a campaign: refused while one is in flight, a DPU is in a module transition or reboots on its own, or the
 * kind is unknown; DPUs that are administratively down are left out.
 */
final class CampaignStart {
  private static final Set<String> KINDS = Set.of("cold", "warm", "power-off");

  private final ActorContext<Command> ctx;
  private final NpuSettings settings;
  private final Clock clock;
  private final Random random;
  private final JournalWrites journal;
  private final Phases phases;

  CampaignStart(ActorContext<Command> ctx, NpuSettings settings, Clock clock, Random random, JournalWrites journal, Phases phases) {
    this.ctx = ctx;
    this.settings = settings;
    this.clock = clock;
    this.random = random;
    this.journal = journal;
    this.phases = phases;
  }

  Effect<CampaignEvent, CoordinatorState> onStart(CoordinatorState s, StartCampaign c) {
    if (s.phase() != Phase.IDLE) {
      c.replyTo().tell(new StartReply(false, s.current().id(), "campaign " + s.current().id() + " is in progress (phase "
          + s.phase().display() + "); not starting another"));
      return journal.none();
    }
    String kind = c.kind().isBlank() ? "cold" : c.kind().trim().toLowerCase();
    if (!KINDS.contains(kind)) {
      c.replyTo().tell(new StartReply(false, "", "unknown reboot kind '" + c.kind() + "'; expected one of cold, warm, power-off"));
      return journal.none();
    }
    List<String> busy = s.modules().values().stream().filter(m -> m.transition() != null)
        .map(m -> m.dpuId() + " (" + m.transition().kind() + " " + m.transition().id() + ", " + m.transition().phase() + ")").toList();
    if (!busy.isEmpty()) {
      c.replyTo().tell(new StartReply(false, "", "DPUs in a module transition: " + String.join(", ", busy)
          + "; the campaign would touch them, try again when they have finished"));
      return journal.none();
    }
    List<String> rebooting = s.notices().values().stream().filter(n -> !s.down(n.dpuId()))
        .map(n -> n.dpuId() + " (" + n.describe() + ")").toList();
    if (!rebooting.isEmpty()) {
      c.replyTo().tell(new StartReply(false, "", "DPUs rebooting on their own: " + String.join(", ", rebooting)
          + "; try again when they are back (their wait is bounded by their hard deadline and boot wait)"));
      return journal.none();
    }
    String reason = c.reason().isBlank() ? "operator request" : c.reason().trim();
    long now = clock.millis();
    String id = Ids.newId(random, "c", now);
    // A DPU shut down by `chassis module shutdown` is off: there is nothing to tell it.
    List<DpuEndpoint> dpus = settings.dpus().stream().filter(d -> !s.down(d.id())).toList();
    int leftOut = settings.dpus().size() - dpus.size();
    return journal.persist(new CampaignEvent.CampaignStarted(id, reason, kind, now, dpus, c.force()))
        .thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu=all] campaign started: kind={} reason='{}' dpus={}{}", id, kind, reason, dpus.size(),
              c.force() ? " (force: deferrals not honoured)" : "");
          c.replyTo().tell(new StartReply(true, id, "campaign " + id + " started for " + dpus.size() + " DPU(s)"
              + (leftOut > 0 ? " (" + leftOut + " administratively down, left out)" : "")));
          phases.enter(next, false);
        });
  }
}
