package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.common.Deadline;
import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootIssued;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.RebootReturned;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.dpu.LinkStart;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;

/**
 * The NPU's own reboot and what follows it, for the coordinator: phase Reboot (the action is journaled before it
 * runs, its return when it returns; after a restart {@link RebootRecovery} decides) and PostReboot (each DPU has
 * until its own boot deadline to be Listening again).
 */
final class NpuReboot {
  record ActionFinished(String campaignId, StepResult result) implements Command {}

  record Settled(String campaignId, StepResult result) implements Command {}

  /** After a restart: the reboot action this service's death interrupted is run again. */
  record RunAgain(String campaignId, String why, String bootId) implements Command {}

  record BootDeadline(String campaignId, String dpuId) implements Command {}

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final NpuSettings settings;
  private final HostActions host;
  private final Clock clock;
  private final JournalWrites<JournalEvent, CampaignState> journal;
  private final CampaignLinks links;
  private final Phases phases;

  NpuReboot(ActorContext<Command> ctx, TimerScheduler<Command> timers, NpuSettings settings, HostActions host, Clock clock,
      JournalWrites<JournalEvent, CampaignState> journal, CampaignLinks links, Phases phases) {
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.host = host;
    this.clock = clock;
    this.journal = journal;
    this.links = links;
    this.phases = phases;
  }

  /** -> Reboot: the action is journaled, with this host's boot id, before it runs. */
  EffectBuilder<JournalEvent, CampaignState> issue(Campaign c, long now) {
    return phases.persistThenEnter(List.of(new RebootIssued(c.id(), host.describeReboot(c.kind().label()), now, host.bootId(), true)));
  }

  /** Phase Reboot: run the action; after a restart, settle or run it again as the evidence says. */
  void enterReboot(Campaign c, boolean recovered) {
    if (!recovered) {
      run(c);
      return;
    }
    RebootRecovery next = RebootRecovery.decide(c, host.bootId(), host.rebootReturnedWhileDown(c.id()),
        settings.reboot().runInterruptedAgain());
    if (next instanceof RebootRecovery.RunAgain again) {
      ctx.getSelf().tell(new RunAgain(c.id(), again.why(), again.bootId()));
    } else if (next instanceof RebootRecovery.Settle settle) {
      ctx.getLog().info("[campaign={} dpu=all] recovered in Reboot: {}", c.id(), settle.result().detail());
      ctx.getSelf().tell(new Settled(c.id(), settle.result()));
    }
  }

  /** Phase PostReboot: each DPU not yet back has until its own boot deadline, and its link reports when it is Listening. */
  void enterPostReboot(Campaign c) {
    for (DpuProgress d : c.dpus().values()) {
      if (d.ready() || !d.notReady().isEmpty()) {
        continue;
      }
      Deadline.armAt(timers, clock, "boot-wait-" + d.id(), new BootDeadline(c.id(), d.id()), c.bootDeadline(d.id()));
      links.awaitReady(d, new LinkStart(c.id(), LinkStart.Mode.READY, null, true, d.attempts()));
    }
  }

  /** PostReboot -> Idle once every DPU is back or recorded as not ready. */
  EffectBuilder<JournalEvent, CampaignState> finishIfBack(Campaign c, long now) {
    Map<String, String> notReady = notReady(c);
    return c.allBack() ? phases.persistThenEnter(List.of(new CampaignEvent.CampaignFinished(c.id(), c.outcomeWith(notReady), notReady, now)))
        : journal.none();
  }

  /** The campaign is over: its reboot's timers go. */
  void cancelTimers(Campaign last) {
    timers.cancel("reboot");
    if (last != null) {
      last.dpus().keySet().forEach(id -> timers.cancel("boot-wait-" + id));
    }
  }

  EffectBuilder<JournalEvent, CampaignState> onActionFinished(CampaignState s, ActionFinished f) {
    if (!s.isCurrent(f.campaignId())) {
      return journal.none();
    }
    StepResult r = f.result();
    return journal.persist(new CampaignEvent.RebootActionReturned(f.campaignId(), r.ok(), r.detail(), clock.millis())).thenRun(next -> {
      if (!r.ok()) {
        ctx.getLog().error("[campaign={} dpu=all] reboot action failed: {}", f.campaignId(), r.detail());
        ctx.getSelf().tell(new Settled(f.campaignId(), r));
      } else if (settings.reboot().returnAfter().isZero()) {
        ctx.getSelf().tell(new Settled(f.campaignId(), r));
      } else {
        // A real reboot takes this process down before the pause ends; if we are still here, we go on.
        timers.startSingleTimer("reboot", new Settled(f.campaignId(), r), settings.reboot().returnAfter());
      }
    });
  }

  EffectBuilder<JournalEvent, CampaignState> onRunAgain(CampaignState s, RunAgain a) {
    if (!s.isCurrent(a.campaignId()) || s.current().rebootAction().returned() != null) {
      return journal.none();
    }
    return journal.persist(new CampaignEvent.RebootActionRerun(a.campaignId(), a.why(), a.bootId(), clock.millis())).thenRun(next -> {
      ctx.getLog().warn("[campaign={} dpu=all] {}: running the reboot action again ({} = run-again)", a.campaignId(), a.why(),
          NpuSettings.Reboot.AFTER_INTERRUPTION);
      run(next.current());
    });
  }

  private void run(Campaign c) {
    ctx.pipeToSelf(host.reboot(c.id(), c.kind().label()), (result, failure) -> new ActionFinished(c.id(),
        Failures.orFailed(result, failure, "reboot")));
  }

  EffectBuilder<JournalEvent, CampaignState> onSettled(CampaignState s, Settled r) {
    if (!s.isCurrent(r.campaignId())) {
      return journal.none();
    }
    long now = clock.millis();
    Map<String, Long> deadlines = new LinkedHashMap<>();
    s.current().dpus().keySet().forEach(id -> deadlines.put(id, now + settings.policy(id).bootWait().toMillis()));
    long latest = deadlines.values().stream().mapToLong(Long::longValue).max().orElse(now);
    return journal.persist(List.of(new RebootReturned(r.campaignId(), r.result().ok(), r.result().detail(), latest, now, deadlines)))
        .thenRun(next -> {
          host.rebootSettled(r.campaignId());
          phases.enter(next, false);
        });
  }

  /** One DPU's own boot deadline: if it is not back, it is recorded unavailable and the campaign goes on. */
  EffectBuilder<JournalEvent, CampaignState> onBootDeadline(CampaignState s, BootDeadline d) {
    if (!s.isCurrent(d.campaignId())) {
      return journal.none();
    }
    List<CampaignEvent> events = links.drain(s);
    DpuProgress dpu = s.applyAll(events, settings.historyPerDpu(), settings.recentCampaigns()).current().dpus().get(d.dpuId());
    if (dpu == null || dpu.ready() || !dpu.notReady().isEmpty()) {
      return phases.persistThenAdvance(events);
    }
    NpuSettings.DpuPolicy policy = settings.policy(d.dpuId());
    String seen = links.lastSeen().get(d.dpuId());
    String reason = "not Listening within its boot wait (" + policy.bootWait().toSeconds() + " s)"
        + (policy.required() ? "; a required DPU" : "") + (seen == null ? "" : "; last seen: " + seen);
    if (policy.required()) {
      ctx.getLog().error("[campaign={} dpu={}] {}", d.campaignId(), d.dpuId(), reason);
    } else {
      ctx.getLog().warn("[campaign={} dpu={}] {}; marked unavailable, going on", d.campaignId(), d.dpuId(), reason);
    }
    links.stop(d.dpuId());
    events.add(new CampaignEvent.DpuNotReady(d.campaignId(), d.dpuId(), reason, clock.millis()));
    return phases.persistThenAdvance(events);
  }

  static Map<String, String> notReady(Campaign c) {
    Map<String, String> notReady = new LinkedHashMap<>();
    c.dpus().values().stream().filter(d -> !d.notReady().isEmpty()).forEach(d -> notReady.put(d.id(), d.notReady()));
    return notReady;
  }
}
