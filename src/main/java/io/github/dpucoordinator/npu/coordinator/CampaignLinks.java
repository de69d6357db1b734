package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.npu.dpu.DpuFleet;
import io.github.dpucoordinator.npu.dpu.LinkReport;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.npu.dpu.LinkStart;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * The campaign's work on its DPUs, done by their {@link DpuActor}s, and what they report: reports are buffered and
 * journaled together ({@link #drain}, one write for a burst), and what each DPU last said is kept for the reasons of
 * failures. Transient: rebuilt after a restart of the coordinator.
 */
final class CampaignLinks {
  private final ActorContext<NpuProtocol.Command> ctx;
  private final DpuFleet<NpuProtocol.Command> fleet;
  private final NpuSettings settings;
  private final Clock clock;
  /** The DPUs the campaign has engaged, with the campaign's id (its work id). */
  private final Map<String, String> engaged = new HashMap<>();
  private final List<Coordinator.FromLink> pending = new ArrayList<>();
  /** What each DPU last said, shared with the module transitions and the status. */
  private final Map<String, String> lastSeen = new HashMap<>();

  CampaignLinks(ActorContext<NpuProtocol.Command> ctx, DpuFleet<NpuProtocol.Command> fleet, NpuSettings settings, Clock clock) {
    this.ctx = ctx;
    this.fleet = fleet;
    this.settings = settings;
    this.clock = clock;
  }

  Map<String, String> lastSeen() {
    return lastSeen;
  }

  void start(DpuProgress d, LinkStart start) {
    engaged.put(d.id(), start.campaignId());
    fleet.engage(d.endpoint(), start);
  }

  boolean has(String dpuId) {
    return engaged.containsKey(dpuId);
  }

  /** After the reboot: the DPU's actor reports when it is Listening (starting that work if it is not doing this campaign's). */
  void awaitReady(DpuProgress d, LinkStart ready) {
    engaged.put(d.id(), ready.campaignId());
    fleet.awaitReady(d.endpoint(), ready);
  }

  void stopSignalling(String dpuId) {
    String id = engaged.get(dpuId);
    if (id != null) {
      fleet.stopSignalling(dpuId, id);
    }
  }

  void stopSignallingAll() {
    engaged.forEach(fleet::stopSignalling);
  }

  void stop(String dpuId) {
    String id = engaged.remove(dpuId);
    if (id != null) {
      fleet.release(dpuId, id);
    }
  }

  /** The campaign is over: its work on every DPU ends here. */
  void stopAll() {
    engaged.forEach(fleet::release);
    engaged.clear();
    lastSeen.clear();
  }

  /** Keeps a report for the next {@link #drain}; true when it is the first since the last one (a flush is due). */
  boolean buffer(Coordinator.FromLink r) {
    if (r.report() instanceof LinkReport.Seen seen) {
      lastSeen.put(r.dpuId(), seen.summary());
      return false;
    }
    pending.add(r);
    return pending.size() == 1;
  }

  /** Turns the buffered reports into the events they justify; duplicates and late ones justify none. */
  List<CampaignEvent> drain(CampaignState s) {
    List<CampaignEvent> events = new ArrayList<>();
    CampaignState latest = s;
    for (Coordinator.FromLink r : pending) {
      CampaignEvent e = toEvent(latest, r, settings, clock.millis());
      if (e == null) {
        ctx.getLog().info("[campaign={} dpu={}] late or duplicate report ignored: {}", r.campaignId(), r.dpuId(), r.report());
      } else {
        events.add(e);
        latest = latest.apply(e, settings.historyPerDpu(), settings.recentCampaigns());
      }
    }
    pending.clear();
    return events;
  }

  /** The event a report justifies now, or null (late, duplicate, or for another phase). */
  private static CampaignEvent toEvent(CampaignState s, Coordinator.FromLink r, NpuSettings settings, long now) {
    DpuProgress d = s.isCurrent(r.campaignId()) ? s.current().dpus().get(r.dpuId()) : null;
    if (d == null) {
      return null;
    }
    boolean waiting = s.phase() == Phase.WAIT_FOR_ACKNOWLEDGMENTS;
    LinkReport report = r.report();
    if (report instanceof LinkReport.Baselined b && waiting && !d.resolved()) {
      return new CampaignEvent.DpuBaselined(r.campaignId(), r.dpuId(), b.baseline(), now);
    } else if (report instanceof LinkReport.Acknowledged a && waiting && d.status() == DpuStatus.PENDING) {
      return new CampaignEvent.DpuAcknowledged(r.campaignId(), r.dpuId(), a.attempt(), a.reply().disposition().name(), a.reply().ack(), now,
          a.reply().countBefore());
    } else if (report instanceof LinkReport.AttemptFailed f && waiting && !d.resolved()) {
      // before an acknowledgment, or after one when the DPU reported a retriable failure and is asked again
      return new CampaignEvent.SignalAttemptFailed(r.campaignId(), r.dpuId(), f.attempt(), f.reason(), now);
    } else if (report instanceof LinkReport.GaveUp g && waiting && !d.resolved()) {
      return new CampaignEvent.DpuGaveUp(r.campaignId(), r.dpuId(), g.reason(), now);
    } else if (report instanceof LinkReport.Completed c && waiting && !d.resolved()) {
      return new CampaignEvent.DpuShutdownCompleted(r.campaignId(), r.dpuId(), c.degraded(), c.detail(), now, c.haltMillis());
    } else if (report instanceof LinkReport.Ready && s.phase() == Phase.POST_REBOOT && !d.ready()) {
      return new CampaignEvent.DpuReady(r.campaignId(), r.dpuId(), now);
    } else if (report instanceof LinkReport.Deferred df && waiting && d.status() == DpuStatus.PENDING) {
      long deadline = df.honouredUntil() + settings.perDpuBudget().toMillis();
      return new CampaignEvent.DpuDeferred(r.campaignId(), r.dpuId(), df.reason(), df.requestedUntil(), df.honouredUntil(), deadline, now);
    } else if (report instanceof LinkReport.ProtectiveChanged p && waiting && !d.resolved()
        && !p.state().equals(d.protective())) {
      return new CampaignEvent.DpuProtective(r.campaignId(), r.dpuId(), p.state(), now);
    }
    return null;
  }

  /** The baselines among {@code events} are journaled: their DPUs' signals may go. */
  void baselinesJournaled(List<CampaignEvent> events) {
    for (CampaignEvent e : events) {
      if (e instanceof CampaignEvent.DpuBaselined b && b.campaignId().equals(engaged.get(b.dpuId()))) {
        fleet.baselineJournaled(b.dpuId(), b.campaignId());
      }
    }
  }

  /** Why a DPU had not finished by the deadline, with what it last said. */
  String unfinishedReason(DpuProgress d) {
    String seen = lastSeen.get(d.id());
    String base = d.status() == DpuStatus.ACKNOWLEDGED
        ? "acknowledged but did not report shutdown complete before the deadline"
        : "no acknowledgment before the deadline" + (d.error().isEmpty() ? "" : "; last error: " + d.error());
    return base + (seen == null ? "" : "; last seen: " + seen);
  }

  /** The DPUs that failed, with why. */
  static Map<String, String> failures(Campaign c) {
    Map<String, String> failed = new LinkedHashMap<>();
    c.dpus().values().stream().filter(d -> d.status() == DpuStatus.FAILED).forEach(d -> failed.put(d.id(), d.error()));
    return failed;
  }
}
