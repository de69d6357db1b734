package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.StartReply;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.time.Clock;
import java.util.List;
import java.util.Random;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * Starting a campaign: refused while one is in flight or when the kind is unknown. Whether anything else stands in
 * the way (a module transition, a DPU rebooting on its own) is the chassis' rule, checked before it gets here.
 */
final class CampaignStart {
  private final ActorContext<Command> ctx;
  private final NpuSettings settings;
  private final Clock clock;
  private final Random random;
  private final JournalWrites<JournalEvent, CampaignState> journal;
  private final Phases phases;

  CampaignStart(ActorContext<Command> ctx, NpuSettings settings, Clock clock, Random random, JournalWrites<JournalEvent, CampaignState> journal, Phases phases) {
    this.ctx = ctx;
    this.settings = settings;
    this.clock = clock;
    this.random = random;
    this.journal = journal;
    this.phases = phases;
  }

  /**
   * The chassis admitted the campaign (no module transition or DPU-initiated reboot in the way) for {@code dpus}: the
   * configured DPUs less those administratively down, which are off, with nothing to tell them.
   */
  ReplyEffect<JournalEvent, CampaignState> onStart(CampaignState s, Coordinator.Begin c) {
    if (s.phase() != Phase.IDLE) {
      return journal.none().thenReply(c.replyTo(), x -> StatusReply.error(new Coordinator.Refused(s.current().id(), "campaign "
          + s.current().id() + " is in progress (phase " + s.phase().display() + "); not starting another")));
    }
    CampaignKind kind = c.kind();
    String reason = c.reason().isBlank() ? "operator request" : c.reason().trim();
    long now = clock.millis();
    String id = Ids.newId(random, "c", now);
    List<DpuEndpoint> dpus = c.dpus();
    int leftOut = settings.dpus().size() - dpus.size();
    return journal.persist(new CampaignEvent.CampaignStarted(id, reason, kind, now, dpus, c.force()))
        .thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu=all] campaign started: kind={} reason='{}' dpus={}{}", id, kind, reason, dpus.size(),
              c.force() ? " (force: deferrals not honoured)" : "");
          phases.enter(next, false);
        })
        .thenReply(c.replyTo(), next -> StatusReply.success(new StartReply(true, id, "campaign " + id + " started for " + dpus.size()
            + " DPU(s)" + (leftOut > 0 ? " (" + leftOut + " administratively down, left out)" : ""))));
  }
}
