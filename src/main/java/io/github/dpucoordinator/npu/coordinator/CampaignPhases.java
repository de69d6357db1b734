package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuAcknowledged;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuShutdownCompleted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalsDispatched;
import io.github.dpucoordinator.npu.dpu.LinkStart;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;

/**
 * The campaign's phases as the coordinator lives them: what entering each one does (again after a recovery, with
 * timers re-armed from journaled deadlines), and the step {@code Advance} takes once a phase has what it waited for.
 * The events themselves are the coordinator's to persist, through {@link Phases}.
 */
final class CampaignPhases {
  private final ActorContext<Command> ctx;
  private final NpuSettings settings;
  private final HostActions host;
  private final Clock clock;
  private final JournalWrites<JournalEvent, CampaignState> journal;
  private final CampaignLinks links;
  private final AckDeadlines ackDeadlines;
  private final Escalations escalations;
  private final NpuReboot reboot;
  private final Phases phases;

  CampaignPhases(ActorContext<Command> ctx, NpuSettings settings, HostActions host, Clock clock, JournalWrites<JournalEvent, CampaignState> journal, CampaignLinks links,
      AckDeadlines ackDeadlines, Escalations escalations, NpuReboot reboot, Phases phases) {
    this.ctx = ctx;
    this.settings = settings;
    this.host = host;
    this.clock = clock;
    this.journal = journal;
    this.links = links;
    this.ackDeadlines = ackDeadlines;
    this.escalations = escalations;
    this.reboot = reboot;
    this.phases = phases;
  }

  /** One step within the phase {@code s} is in, once what it waited for has happened: the next event, or none. */
  EffectBuilder<JournalEvent, CampaignState> onAdvance(CampaignState s) {
    Campaign c = s.current();
    long now = clock.millis();
    switch (s.phase()) {
      case NOTIFY_DPUS: {
        List<CampaignEvent> events = new ArrayList<>();
        events.add(new SignalsDispatched(c.id(), now + settings.ackDeadline().toMillis(), now,
            c.force() ? now : now + settings.negotiation().deferMaxTotal().toMillis()));
        if (c.kind() == CampaignKind.WARM) {
          // Warm: the DPUs keep power. gNOI has no verb for "the host warm-reboots, clean up and stay up", so
          // gNOI DPUs are not halted; DPUs on the reboot-service protocol are told and run their tenant cleanup.
          c.dpus().values().stream().filter(d -> d.protocol().equals(DpuEndpoint.GNOI)).forEach(d -> {
            events.add(new DpuAcknowledged(c.id(), d.id(), 0, "NOT_SIGNALLED",
                "warm reboot: keeps power and keeps running (gNOI has no notice for a warm host reboot)", now, -1L));
            events.add(new DpuShutdownCompleted(c.id(), d.id(), false, "", now, -1L));
          });
        }
        return phases.persistThenEnter(events);
      }
      case WAIT_FOR_ACKNOWLEDGMENTS:
        ackDeadlines.progress(c); // the collector says when all are in
        return journal.none();
      case ERROR_LOGGING: {
        List<CampaignEvent> issue = escalations.toIssue(c, now);
        if (!issue.isEmpty()) {
          return journal.persist(issue).thenRun(next -> issue.forEach(e -> escalations.run((CampaignEvent.DpuEscalated) e)));
        }
        if (Escalations.running(c)) {
          return journal.none(); // force actions still running
        }
        return reboot.issue(c, now);
      }
      case PROCEED_WITH_REBOOT:
        return reboot.issue(c, now);
      case POST_REBOOT:
        return reboot.finishIfBack(c, now);
      default:
        return journal.none();
    }
  }

  /**
   * The side effects of being in a phase; after a restart {@code recovered} is true. Links live from
   * WaitForAcknowledgments to the end of the campaign, watching their DPU throughout.
   */
  void enter(CampaignState s, boolean recovered) {
    Campaign c = s.current();
    if (s.phase() == Phase.IDLE) {
      links.stopAll(); // the campaign is over: its links end here
    } else if (s.phase() != Phase.WAIT_FOR_ACKNOWLEDGMENTS) {
      ackDeadlines.cancel();
      links.stopSignallingAll();
    }
    if (c != null && !recovered) {
      ctx.getLog().info("[campaign={} dpu=all] phase -> {}", c.id(), s.phase().display());
    }
    switch (s.phase()) {
      case IDLE:
        ackDeadlines.cancel();
        reboot.cancelTimers(s.last());
        if (s.last() != null && !recovered) {
          ctx.getLog().info("[campaign={} dpu=all] campaign finished: {}", s.last().id(), s.last().outcome());
        }
        break;
      case PREPARE_FOR_REBOOT:
        ctx.pipeToSelf(host.prepare(c.id()), (results, failure) -> new Coordinator.PrepareFinished(c.id(),
            Failures.orFailed(results, failure, "pre-reboot-tasks")));
        break;
      case NOTIFY_DPUS:
      case PROCEED_WITH_REBOOT:
        phases.advance();
        break;
      case ERROR_LOGGING:
        if (recovered) {
          escalations.recover(c);
        } else {
          c.dpus().values().stream().filter(d -> d.status() == DpuStatus.FAILED).forEach(d ->
              ctx.getLog().error("[campaign={} dpu={}] no graceful shutdown: {}; proceeding with reboot", c.id(), d.id(), d.error()));
        }
        phases.advance();
        break;
      case WAIT_FOR_ACKNOWLEDGMENTS:
        ackDeadlines.arm(c, c.ackDeadline());
        SignalRequest request = new SignalRequest(c.id(), c.kind().label(), c.reason(), c.ackDeadline(), "", c.force());
        for (DpuProgress d : c.dpus().values()) {
          if (!d.resolved() && (recovered || !links.has(d.id()))) {
            links.start(d, new LinkStart(c.id(), LinkStart.Mode.SHUTDOWN, request, d.status() == DpuStatus.ACKNOWLEDGED, d.attempts(),
                c.deferCapAt(), d.countBefore(), d.baseline(), s.flat().haltsOf(d.id())));
          }
        }
        phases.advance();
        break;
      case REBOOT:
        reboot.enterReboot(c, recovered);
        break;
      case POST_REBOOT:
        reboot.enterPostReboot(c);
        phases.advance();
        break;
    }
  }
}
