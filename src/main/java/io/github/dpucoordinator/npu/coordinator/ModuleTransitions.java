package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.Command;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.FromLink;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.ModuleAdvance;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.ModuleBootTimeout;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.ModuleCommand;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.ModulePowerDone;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.StartReply;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.TransitionOutcome;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.WatchTransition;
import io.github.dpucoordinator.npu.dpu.LinkReport;
import io.github.dpucoordinator.npu.dpu.LinkStart;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.javadsl.Effect;

/**
 * The coordinator's single-DPU (module) transitions: `chassis module shutdown|startup` and named-pipe
 * halt/cold/warm requests. One transition per DPU; each phase (HALTING, POWERING_OFF, POWERING_ON,
 * WAITING_FOR_BOOT) is journaled by the {@link Coordinator}, whose command handlers delegate here, and
 * {@link #enter} runs the phase's side effects again after a restart.
 */
final class ModuleTransitions {
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final NpuSettings settings;
  private final DpuFleet fleet;
  private final HostActions host;
  private final Clock clock;
  private final Random random;
  /** The coordinator's map of what each DPU last said, shared: the reasons of both use it. */
  private final Map<String, String> lastSeen;
  private final JournalWrites effects;
  /** Told when a DPU's transition is over, so its comings and goings meanwhile are not taken for unplanned ones. */
  private final java.util.function.Consumer<String> settled;
  // Transient, rebuilt after a restart: each DPU's transition link, and who waits for a transition's end.
  private final Map<String, String> moduleWork = new HashMap<>();
  private final Map<String, List<ActorRef<TransitionOutcome>>> transitionWatchers = new HashMap<>();

  ModuleTransitions(ActorContext<Command> ctx, TimerScheduler<Command> timers, NpuSettings settings, DpuFleet fleet,
      HostActions host, Clock clock, Random random, Map<String, String> lastSeen,
      JournalWrites effects, java.util.function.Consumer<String> settled) {
    this.ctx = ctx;
    this.settled = settled;
    this.timers = timers;
    this.settings = settings;
    this.fleet = fleet;
    this.host = host;
    this.clock = clock;
    this.random = random;
    this.lastSeen = lastSeen;
    this.effects = effects;
  }

  Effect<CampaignEvent, CoordinatorState> onModule(CoordinatorState s, ModuleCommand c) {
    DpuEndpoint dpu = settings.dpu(c.dpuId()).orElse(null);
    if (dpu == null) {
      c.replyTo().tell(new StartReply(false, "", "unknown DPU '" + c.dpuId() + "'; configured: "
          + String.join(", ", settings.dpus().stream().map(DpuEndpoint::id).toList())));
      return effects.none();
    }
    if (!c.kind().equals(CoordinatorState.SHUTDOWN) && !c.kind().equals(CoordinatorState.STARTUP)
        && !CoordinatorState.REBOOT_KINDS.contains(c.kind())) {
      c.replyTo().tell(new StartReply(false, "", "unknown module transition '" + c.kind() + "'; expected shutdown, startup, halt, cold or warm"));
      return effects.none();
    }
    if ((c.kind().equals("cold") || c.kind().equals("warm")) && !dpu.protocol().equals(DpuEndpoint.GNOI)) {
      c.replyTo().tell(new StartReply(false, "", "method " + c.kind().toUpperCase() + " needs gNOI; " + dpu.id() + " speaks "
          + dpu.protocol() + ", which only halts"));
      return effects.none();
    }
    if (s.phase() != Phase.IDLE) {
      // The NPU itself is about to reboot (or just did): no single-DPU transition meanwhile, in the campaign or not.
      c.replyTo().tell(new StartReply(false, s.current().id(), "campaign " + s.current().id() + " is in progress (phase "
          + s.phase().display() + ")" + (s.current().dpus().containsKey(dpu.id()) ? " and involves " + dpu.id() : "")
          + "; module transitions wait until it has finished"));
      return effects.none();
    }
    ModuleState m = s.modules().get(dpu.id());
    if (m != null && m.transition() != null) {
      Transition t = m.transition();
      c.replyTo().tell(new StartReply(false, t.id(), dpu.id() + " is already in a " + t.kind() + " (" + t.id() + ", phase "
          + t.phase() + ", since " + Instant.ofEpochMilli(t.startedAt()) + "); one transition per DPU at a time"));
      return effects.none();
    }
    boolean down = m != null && m.down();
    if (!c.force() && c.kind().equals(CoordinatorState.SHUTDOWN) && down) {
      // Already where it was asked to go: nothing is halted, powered or journaled again (`--force` does it anyway).
      String since = m.lastChange() <= 0 ? "" : " since " + Instant.ofEpochMilli(m.lastChange())
          + (m.lastOutcome().isEmpty() ? "" : " (" + m.lastOutcome() + ")");
      c.replyTo().tell(new StartReply(true, "", dpu.id() + " is already administratively down" + since
          + "; nothing done (--force runs the shutdown anyway)"));
      return effects.none();
    }
    if (!c.force() && c.kind().equals(CoordinatorState.STARTUP) && !down) {
      // Up as far as the NPU knows, but it may be halted (a cancelled campaign leaves DPUs so): ask it first.
      fleet.observe(dpu, a -> new Coordinator.StartupChecked(c, a.observation() != null && a.observation().listening(),
          a.observation() != null ? a.observation().state().name() : "not answering: " + Failures.describe(a.failure())));
      return effects.none();
    }
    long now = clock.millis();
    String id = Ids.newId(random, "m", now);
    String reason = c.reason().isBlank() ? "operator request" : c.reason().trim();
    return effects.persist(new CampaignEvent.ModuleTransitionStarted(id, dpu, c.kind(), reason, now))
        .thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu={}] module {} started: reason='{}'", id, dpu.id(), c.kind(), reason);
          c.replyTo().tell(new StartReply(true, id, "module " + c.kind() + " " + id + " of " + dpu.id() + " started"));
          enter(next, dpu.id(), false);
        });
  }

  /** A startup of an administratively up DPU: nothing to do if it answers Listening, else the startup runs. */
  Effect<CampaignEvent, CoordinatorState> onStartupChecked(CoordinatorState s, Coordinator.StartupChecked checked) {
    ModuleCommand c = checked.command();
    if (checked.listening()) {
      c.replyTo().tell(new StartReply(true, "", c.dpuId() + " is already up (administratively up, and answering: Listening); "
          + "nothing done (--force runs the startup anyway)"));
      return effects.none();
    }
    ctx.getLog().info("[campaign=none dpu={}] administratively up but {}: starting it up", c.dpuId(), checked.seen());
    return onModule(s, new ModuleCommand(c.dpuId(), c.kind(), c.reason(), true, c.replyTo()));
  }

  /** The side effects of a module transition's phase; after a restart {@code recovered} is true. */
  void enter(CoordinatorState s, String dpuId, boolean recovered) {
    ModuleState m = s.modules().get(dpuId);
    Transition t = m == null ? null : m.transition();
    if (t == null) {
      stopModuleLink(dpuId);
      return;
    }
    switch (t.phase()) {
      case HALTING -> startModuleLink(t, new LinkStart(t.id(), LinkStart.Mode.SHUTDOWN,
          new SignalRequest(t.id(), "cold", t.reason(), 0, CoordinatorState.REBOOT_KINDS.contains(t.kind()) ? t.kind().toUpperCase() : ""),
          t.acknowledged(), 0, 0, t.countBefore()));
      case WAITING_FOR_BOOT -> {
        Coordinator.armAt(timers, clock, "module-boot-" + dpuId, new ModuleBootTimeout(dpuId, t.id()), t.bootDeadline());
        startModuleLink(t, new LinkStart(t.id(), LinkStart.Mode.READY, null, true, 0));
      }
      default -> {
        stopModuleLink(dpuId);
        // The power command: issue it, or (after a restart) settle what an issued one left behind.
        if (!t.powerIssued() || recovered) {
          ctx.getSelf().tell(new ModuleAdvance(dpuId, t.id()));
        }
      }
    }
  }

  Effect<CampaignEvent, CoordinatorState> onReport(CoordinatorState s, Transition t, FromLink r) {
    long now = clock.millis();
    LinkReport report = r.report();
    boolean halting = t.phase() == Transition.Step.HALTING;
    if (report instanceof LinkReport.Seen seen) {
      lastSeen.put(r.dpuId(), seen.summary());
    } else if (report instanceof LinkReport.Acknowledged a && halting && !t.acknowledged()) {
      return effects.persist(new CampaignEvent.ModuleHaltAcknowledged(t.id(), r.dpuId(), a.reply().ack(), now, a.reply().countBefore()));
    } else if (report instanceof LinkReport.Completed c && halting && CoordinatorState.REBOOT_KINDS.contains(t.kind())) {
      String what = t.kind().equals("halt") ? "halted" : "rebooted (" + t.kind().toUpperCase() + ")";
      return effects.persist(new CampaignEvent.ModuleTransitionFinished(t.id(), r.dpuId(), "ok",
          what + (c.detail().isEmpty() ? "" : " (" + c.detail() + ")"), now)).thenRun(next -> finishedModule(next, r.dpuId()));
    } else if (report instanceof LinkReport.GaveUp g && halting && CoordinatorState.REBOOT_KINDS.contains(t.kind())) {
      return effects.persist(new CampaignEvent.ModuleTransitionFinished(t.id(), r.dpuId(), "failed", g.reason(), now))
          .thenRun(next -> finishedModule(next, r.dpuId()));
    } else if (report instanceof LinkReport.Completed c && halting) {
      return effects.persist(new CampaignEvent.ModuleHalted(t.id(), r.dpuId(), true, c.detail(), now))
          .thenRun(next -> enter(next, r.dpuId(), false));
    } else if (report instanceof LinkReport.GaveUp g && halting) {
      ctx.getLog().error("[campaign={} dpu={}] module halt failed: {}; powering off anyway", t.id(), r.dpuId(), g.reason());
      return effects.persist(new CampaignEvent.ModuleHalted(t.id(), r.dpuId(), false, g.reason(), now))
          .thenRun(next -> enter(next, r.dpuId(), false));
    } else if (report instanceof LinkReport.ProtectiveChanged p && halting && !p.state().isEmpty()) {
      // Never halt or power off a DPU during a firmware update or crash dump: refuse, and say why.
      ctx.getLog().warn("[campaign={} dpu={}] module {} refused: the DPU reports protective state {}", t.id(), r.dpuId(), t.kind(), p.state());
      return effects.persist(new CampaignEvent.ModuleTransitionFinished(t.id(), r.dpuId(), "refused",
          "the DPU reports protective state " + p.state() + "; nothing was halted or powered off, try again when it has ended", now))
          .thenRun(next -> finishedModule(next, r.dpuId()));
    } else if (report instanceof LinkReport.Ready && t.phase() == Transition.Step.WAITING_FOR_BOOT) {
      timers.cancel("module-boot-" + r.dpuId());
      return effects.persist(new CampaignEvent.ModuleTransitionFinished(t.id(), r.dpuId(), "ok", "answering and Listening", now))
          .thenRun(next -> finishedModule(next, r.dpuId()));
    }
    return effects.none();
  }

  Effect<CampaignEvent, CoordinatorState> onModuleAdvance(CoordinatorState s, ModuleAdvance a) {
    Transition t = s.transition(a.dpuId(), a.transitionId());
    if (t == null || t.phase() == Transition.Step.HALTING || t.phase() == Transition.Step.WAITING_FOR_BOOT) {
      return effects.none();
    }
    long now = clock.millis();
    boolean shutdown = t.kind().equals(CoordinatorState.SHUTDOWN);
    if (!t.powerIssued()) {
      String action = shutdown ? "power-off" : "power-on";
      return effects.persist(new CampaignEvent.ModulePowerIssued(t.id(), a.dpuId(), action, now)).thenRun(next ->
          ctx.pipeToSelf(shutdown ? host.powerOff(t.id(), a.dpuId()) : host.powerOn(t.id(), a.dpuId()), (result, failure) ->
              new ModulePowerDone(a.dpuId(), t.id(), Failures.orFailed(result, failure, action))));
    }
    // Recovered after the power command was issued: never run it twice.
    if (shutdown) {
      return effects.persist(new CampaignEvent.ModuleTransitionFinished(t.id(), a.dpuId(), haltOutcome(t),
          t.detail() + "; power-off was issued before an NPU service restart, its result is unknown", now))
          .thenRun(next -> finishedModule(next, a.dpuId()));
    }
    return effects.persist(new CampaignEvent.ModulePoweredOn(t.id(), a.dpuId(), "power-on was issued before an NPU service restart",
        now + settings.module().bootWait().toMillis(), now)).thenRun(next -> enter(next, a.dpuId(), false));
  }

  Effect<CampaignEvent, CoordinatorState> onModulePowerDone(CoordinatorState s, ModulePowerDone d) {
    Transition t = s.transition(d.dpuId(), d.transitionId());
    if (t == null || !t.powerIssued() || t.phase() == Transition.Step.WAITING_FOR_BOOT) {
      return effects.none();
    }
    long now = clock.millis();
    StepResult r = d.result();
    if (t.kind().equals(CoordinatorState.SHUTDOWN)) {
      String outcome = r.ok() ? haltOutcome(t) : "failed";
      String detail = t.detail() + "; power-off " + (r.ok() ? "done" : "failed: " + r.detail())
          + (r.ok() && !r.detail().isEmpty() ? " (" + r.detail() + ")" : "");
      return effects.persist(new CampaignEvent.ModuleTransitionFinished(t.id(), d.dpuId(), outcome, detail, now))
          .thenRun(next -> finishedModule(next, d.dpuId()));
    }
    if (!r.ok()) {
      return effects.persist(new CampaignEvent.ModuleTransitionFinished(t.id(), d.dpuId(), "failed", "power-on failed: " + r.detail(), now))
          .thenRun(next -> finishedModule(next, d.dpuId()));
    }
    return effects.persist(new CampaignEvent.ModulePoweredOn(t.id(), d.dpuId(), "powered on" + (r.detail().isEmpty() ? "" : " (" + r.detail() + ")"),
        now + settings.module().bootWait().toMillis(), now)).thenRun(next -> enter(next, d.dpuId(), false));
  }

  Effect<CampaignEvent, CoordinatorState> onModuleBootTimeout(CoordinatorState s, ModuleBootTimeout b) {
    Transition t = s.transition(b.dpuId(), b.transitionId());
    if (t == null || t.phase() != Transition.Step.WAITING_FOR_BOOT) {
      return effects.none();
    }
    String seen = lastSeen.get(b.dpuId());
    return effects.persist(new CampaignEvent.ModuleTransitionFinished(t.id(), b.dpuId(), "failed", "not Listening within the boot wait ("
        + settings.module().bootWait().toSeconds() + " s)" + (seen == null ? "" : "; last seen: " + seen), clock.millis()))
        .thenRun(next -> finishedModule(next, b.dpuId()));
  }

  private void finishedModule(CoordinatorState s, String dpuId) {
    stopModuleLink(dpuId);
    settled.accept(dpuId);
    String id = lastTransitionId(s, dpuId);
    ctx.getLog().info("[campaign={} dpu={}] module transition finished: {}", id, dpuId, s.modules().get(dpuId).lastOutcome());
    List<ActorRef<TransitionOutcome>> watchers = transitionWatchers.remove(id);
    if (watchers != null) {
      TransitionOutcome outcome = outcomeOf(s, dpuId, id);
      watchers.forEach(w -> w.tell(outcome));
    }
  }

  Effect<CampaignEvent, CoordinatorState> onWatchTransition(CoordinatorState s, WatchTransition w) {
    if (s.transition(w.dpuId(), w.transitionId()) != null) {
      transitionWatchers.computeIfAbsent(w.transitionId(), k -> new ArrayList<>()).add(w.replyTo());
    } else {
      w.replyTo().tell(outcomeOf(s, w.dpuId(), w.transitionId()));
    }
    return effects.none();
  }

  /** How a finished transition ended, from the DPU's history. */
  private static TransitionOutcome outcomeOf(CoordinatorState s, String dpuId, String id) {
    return s.history().getOrDefault(dpuId, List.of()).stream().filter(h -> h.campaignId().equals(id))
        .map(h -> new TransitionOutcome(id, dpuId, h.outcome(), h.detail())).findFirst()
        .orElse(new TransitionOutcome(id, dpuId, "unknown", "no such transition in the DPU's history"));
  }

  private static String lastTransitionId(CoordinatorState s, String dpuId) {
    List<HistoryEntry> h = s.history().getOrDefault(dpuId, List.of());
    return h.isEmpty() ? "" : h.get(h.size() - 1).campaignId();
  }

  private static String haltOutcome(Transition t) {
    return t.haltFailed() ? "degraded" : "ok";
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
