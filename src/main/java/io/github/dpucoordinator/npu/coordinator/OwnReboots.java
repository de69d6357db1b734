package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuRebootAnswered;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuRebootFinished;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuRebootGoing;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuRebootNoticed;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.Command;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.GoingReceived;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.GoingReply;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.NoticeBack;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.NoticeReceived;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.NoticeReply;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.settings.NegotiationSettings;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.javadsl.Effect;

/**
 * Reboots DPUs announce themselves (R1-R4); events nobody planned (R14) are {@link UnplannedEvents}.
 *
 * <p>A DPU announces a reboot with a notice (reason, planned time, hard deadline). The NPU runs its
 * pre-DPU-reboot hooks and answers ACK, or POSTPONE until a time when a hook says "not yet" (exit code
 * {@code dpu-reboot.postpone-exit-code}) or the DPU is busy in an NPU campaign or module transition.
 * Postponements stop at {@code dpu-reboot.max-postpone-total} from the planned time and never pass the
 * hard deadline; a hook that fails otherwise never holds the DPU. Every notice and answer is journaled
 * before the DPU hears it, so a restarted service answers the next round from the same deadlines. When
 * the DPU goes (it says so, or its hard deadline passes) it is expected back within its boot wait, and
 * the reboot goes into its history as planned.
 */
final class OwnReboots {
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final NpuSettings settings;
  private final DpuFleet fleet;
  private final HostActions host;
  private final Clock clock;
  private final JournalWrites effects;
  // Transient: who waits for the answer of a round whose hooks are running, and each DPU's return watch.
  private final Map<String, List<ActorRef<NoticeReply>>> waiting = new HashMap<>();
  private final Map<String, String> watches = new HashMap<>();
  /** Told when a DPU's own reboot is over, so that its comings and goings meanwhile are not taken for unplanned ones. */
  private final java.util.function.Consumer<String> settled;

  OwnReboots(ActorContext<Command> ctx, TimerScheduler<Command> timers, NpuSettings settings, DpuFleet fleet,
      HostActions host, Clock clock, JournalWrites effects, java.util.function.Consumer<String> settled) {
    this.ctx = ctx;
    this.settled = settled;
    this.timers = timers;
    this.settings = settings;
    this.fleet = fleet;
    this.host = host;
    this.clock = clock;
    this.effects = effects;
  }

  private NegotiationSettings n() {
    return settings.negotiation();
  }

  // ---- notices ----

  Effect<CampaignEvent, CoordinatorState> onNotice(CoordinatorState s, NoticeReceived c) {
    if (settings.dpu(c.dpuId()).isEmpty()) {
      String error = "unknown DPU '" + c.dpuId() + "'; configured: " + String.join(", ", settings.dpus().stream().map(DpuEndpoint::id).toList());
      ctx.getLog().warn("[campaign={} dpu={}] reboot notice rejected: {}", c.noticeId(), c.dpuId(), error);
      c.replyTo().tell(NoticeReply.error(error));
      return effects.none();
    }
    if (c.noticeId().isBlank() || c.hardDeadline() <= 0) {
      c.replyTo().tell(NoticeReply.error("a notice needs a notice_id and a hard deadline"));
      return effects.none();
    }
    long now = clock.millis();
    List<CampaignEvent> events = new ArrayList<>();
    Notice old = s.notices().get(c.dpuId());
    if (old != null && !old.id().equals(c.noticeId())) {
      events.add(new DpuRebootFinished(old.id(), c.dpuId(), "superseded", "notice " + c.noticeId() + " arrived before this one ended", now));
    } else if (old != null && old.going()) {
      c.replyTo().tell(new NoticeReply("", "ACK", 0, "already recorded as going (" + old.why() + ")", n().identity()));
      return effects.none();
    } else if (old != null && c.round() <= old.round() && !old.decision().isEmpty()) {
      // The same round again (the DPU did not get our answer): the same answer.
      c.replyTo().tell(new NoticeReply("", old.decision(), old.postponedUntil(), old.answer(), n().identity()));
      return effects.none();
    }
    String key = c.dpuId() + "/" + c.noticeId() + "/" + c.round();
    if (waiting.containsKey(key)) {
      waiting.get(key).add(c.replyTo());
      return effects.none();
    }
    waiting.put(key, new ArrayList<>(List.of(c.replyTo())));
    events.add(new DpuRebootNoticed(c.noticeId(), c.dpuId(), c.reason(), c.planned(), c.hardDeadline(), c.round(), now));
    String busy = busy(s, c.dpuId());
    return effects.persist(events).thenRun(next -> {
      ctx.getLog().info("[campaign={} dpu={}] DPU announces its own reboot, round {}: reason '{}', planned {}, hard deadline {}",
          c.noticeId(), c.dpuId(), c.round(), c.reason(), Instant.ofEpochMilli(c.planned()), Instant.ofEpochMilli(c.hardDeadline()));
      if (old == null || !old.id().equals(c.noticeId())) {
        armHardDeadline(next.notices().get(c.dpuId()));
      }
      if (busy != null) {
        ctx.getSelf().tell(new Coordinator.HooksDone(c.dpuId(), c.noticeId(), c.round(),
            List.of(new StepResult("busy", false, "exit " + n().postponeExitCode() + ": " + busy, 0, n().postponeExitCode()))));
      } else {
        ctx.pipeToSelf(host.dpuRebootHooks(c.noticeId(), c.dpuId()), (results, failure) -> new Coordinator.HooksDone(c.dpuId(), c.noticeId(), c.round(),
            Failures.orFailed(results, failure, "hooks")));
      }
    });
  }

  /** Why the DPU should wait because the NPU itself is working on it; null if it is not. */
  private static String busy(CoordinatorState s, String dpuId) {
    if (s.current() != null && s.current().dpus().containsKey(dpuId)) {
      return "NPU campaign " + s.current().id() + " is in progress (phase " + s.phase().display() + ")";
    }
    ModuleState m = s.modules().get(dpuId);
    if (m != null && m.transition() != null) {
      return "module " + m.transition().kind() + " " + m.transition().id() + " is in progress";
    }
    return null;
  }

  Effect<CampaignEvent, CoordinatorState> onHooksDone(CoordinatorState s, Coordinator.HooksDone h) {
    List<ActorRef<NoticeReply>> repliers = waiting.remove(h.dpuId() + "/" + h.noticeId() + "/" + h.round());
    Notice notice = s.notice(h.dpuId(), h.noticeId());
    if (notice == null || repliers == null) {
      return effects.none();
    }
    long now = clock.millis();
    int postpone = n().postponeExitCode();
    List<String> wait = h.results().stream().filter(r -> !r.ok() && r.exited(postpone)).map(r -> r.name() + ": " + r.detail()).toList();
    List<String> broken = h.results().stream().filter(r -> !r.ok() && !r.exited(postpone))
        .map(r -> r.name() + " failed (" + r.detail() + "), not holding the DPU for it").toList();
    long cap = Math.min(notice.plannedAt() + n().maxPostponeTotal().toMillis(), notice.hardDeadline());
    long until = Math.min(now + n().postponeFor().toMillis(), cap);
    String decision;
    String detail;
    if (wait.isEmpty()) {
      decision = "ACK";
      detail = h.results().isEmpty() ? "no hooks configured" : h.results().size() + " hook(s) done";
      until = 0;
    } else if (until - now < 1000) {
      decision = "ACK";
      detail = "would postpone (" + String.join("; ", wait) + ") but the postponement cap is reached (dpu-coordinator.npu.dpu-reboot."
          + "max-postpone-total " + n().maxPostponeTotal().toSeconds() + " s, or the hard deadline)";
      until = 0;
    } else {
      decision = "POSTPONE";
      detail = String.join("; ", wait);
    }
    if (!broken.isEmpty()) {
      detail += "; " + String.join("; ", broken);
    }
    String answer = detail;
    long untilMillis = until;
    return effects.persist(new DpuRebootAnswered(h.noticeId(), h.dpuId(), decision, untilMillis, answer, now)).thenRun(next -> {
      if (decision.equals("ACK")) {
        ctx.getLog().info("[campaign={} dpu={}] answered ACK: {}", h.noticeId(), h.dpuId(), answer);
      } else {
        ctx.getLog().info("[campaign={} dpu={}] answered POSTPONE until {}: {}", h.noticeId(), h.dpuId(), Instant.ofEpochMilli(untilMillis),
            answer);
      }
      broken.forEach(b -> ctx.getLog().warn("[campaign={} dpu={}] pre-DPU-reboot hook {}", h.noticeId(), h.dpuId(), b));
      repliers.forEach(r -> r.tell(new NoticeReply("", decision, untilMillis, answer, n().identity())));
    });
  }

  /** Someone on the DPU postponed its reboot: the notice shows until when and by whom. */
  Effect<CampaignEvent, CoordinatorState> onPostponedOnDpu(CoordinatorState s, Coordinator.PostponedOnDpu p) {
    Notice notice = s.notice(p.dpuId(), p.noticeId());
    if (notice == null || notice.going()) {
      p.replyTo().tell(new GoingReply(false, notice == null ? "no notice " + p.noticeId() + " of " + p.dpuId() + " is open here"
          : "notice " + p.noticeId() + " is already recorded as going", 0));
      return effects.none();
    }
    return effects.persist(new CampaignEvent.DpuRebootPostponedOnDpu(p.noticeId(), p.dpuId(), p.untilMillis(), p.by(), p.reason(),
        clock.millis())).thenRun(next -> {
          ctx.getLog().info("[campaign={} dpu={}] postponed on the DPU by {} until {}", p.noticeId(), p.dpuId(), p.by(),
              Instant.ofEpochMilli(p.untilMillis()));
          p.replyTo().tell(new GoingReply(true, "recorded", 0));
        });
  }

  // ---- the DPU goes, and comes back ----

  Effect<CampaignEvent, CoordinatorState> onGoing(CoordinatorState s, GoingReceived g) {
    if (settings.dpu(g.dpuId()).isEmpty()) {
      g.replyTo().tell(new GoingReply(false, "unknown DPU '" + g.dpuId() + "'", 0));
      return effects.none();
    }
    long now = clock.millis();
    Notice notice = s.notice(g.dpuId(), g.noticeId());
    if (notice != null && notice.going()) {
      g.replyTo().tell(new GoingReply(true, "already recorded", notice.expectBackBy()));
      return effects.none();
    }
    List<CampaignEvent> events = new ArrayList<>();
    Notice other = s.notices().get(g.dpuId());
    if (notice == null && other != null) {
      events.add(new DpuRebootFinished(other.id(), g.dpuId(), "superseded", "the DPU went with notice " + g.noticeId(), now));
    }
    if (notice == null) {
      // It went without this NPU having heard its notice (unreachable then): record it all the same.
      events.add(new DpuRebootNoticed(g.noticeId(), g.dpuId(), "(notice not received by this NPU)", now, now, 0, now));
    }
    long backBy = now + settings.policy(g.dpuId()).bootWait().toMillis();
    events.add(new DpuRebootGoing(g.noticeId(), g.dpuId(), g.why().isBlank() ? "the DPU said so" : g.why(), backBy, now, g.bootId()));
    return effects.persist(events).thenRun(next -> {
      ctx.getLog().warn("[campaign={} dpu={}] DPU is rebooting now ({}); expected back by {}", g.noticeId(), g.dpuId(), g.why(),
          Instant.ofEpochMilli(backBy));
      g.replyTo().tell(new GoingReply(true, "recorded; expected back by " + Instant.ofEpochMilli(backBy), backBy));
      watchReturn(next.notices().get(g.dpuId()));
    });
  }

  Effect<CampaignEvent, CoordinatorState> onHardDeadline(CoordinatorState s, Coordinator.HardDeadline d) {
    Notice notice = s.notice(d.dpuId(), d.noticeId());
    if (notice == null || notice.going()) {
      return effects.none();
    }
    long backBy = notice.hardDeadline() + settings.policy(d.dpuId()).bootWait().toMillis();
    return effects.persist(new DpuRebootGoing(d.noticeId(), d.dpuId(), "hard deadline passed with no word from the DPU", backBy,
        clock.millis(), "")).thenRun(next -> {
          ctx.getLog().warn("[campaign={} dpu={}] hard deadline {} passed; counting the DPU as rebooting, expected back by {}", d.noticeId(),
              d.dpuId(), Instant.ofEpochMilli(notice.hardDeadline()), Instant.ofEpochMilli(backBy));
          watchReturn(next.notices().get(d.dpuId()));
        });
  }

  Effect<CampaignEvent, CoordinatorState> onBack(CoordinatorState s, NoticeBack b) {
    Notice notice = s.notice(b.dpuId(), b.noticeId());
    if (notice == null || !notice.going()) {
      return effects.none();
    }
    long took = (clock.millis() - notice.wentAt()) / 1000;
    return finish(notice, "ok", "back: " + b.detail() + " after " + took + " s");
  }

  Effect<CampaignEvent, CoordinatorState> onBackBy(CoordinatorState s, Coordinator.BackBy b) {
    Notice notice = s.notice(b.dpuId(), b.noticeId());
    if (notice == null || !notice.going()) {
      return effects.none();
    }
    ctx.getLog().warn("[campaign={} dpu={}] not back by {} after its own reboot; marked unavailable", b.noticeId(), b.dpuId(),
        Instant.ofEpochMilli(notice.expectBackBy()));
    return finish(notice, "not back", "not Listening within its boot wait (" + settings.policy(b.dpuId()).bootWait().toSeconds() + " s)");
  }

  private Effect<CampaignEvent, CoordinatorState> finish(Notice notice, String outcome, String detail) {
    return effects.persist(new DpuRebootFinished(notice.id(), notice.dpuId(), outcome, detail, clock.millis())).thenRun(next -> {
      ctx.getLog().info("[campaign={} dpu={}] DPU-initiated reboot finished: {} ({})", notice.id(), notice.dpuId(), outcome, detail);
      stopWatch(notice.dpuId());
      timers.cancel("notice-" + notice.dpuId());
      settled.accept(notice.dpuId());
    });
  }

  /** After a restart: every notice in flight gets its timers (from the journaled deadlines) and watch again. */
  void recover(CoordinatorState s) {
    for (Notice notice : s.notices().values()) {
      ctx.getLog().info("[campaign={} dpu={}] recovered DPU-initiated reboot (round {}, {}); resuming", notice.id(), notice.dpuId(),
          notice.round(), notice.going() ? "went, expected back by " + Instant.ofEpochMilli(notice.expectBackBy())
              : "hard deadline " + Instant.ofEpochMilli(notice.hardDeadline()));
      if (notice.going()) {
        watchReturn(notice);
      } else {
        armHardDeadline(notice);
      }
    }
  }

  private void armHardDeadline(Notice notice) {
    // Slack for the DPU's own word that it went, which says more than our timer.
    long slack = n().answerWithin().toMillis() + settings.signal().rpcTimeout().toMillis();
    Coordinator.armAt(timers, clock, "notice-" + notice.dpuId(), new Coordinator.HardDeadline(notice.dpuId(), notice.id()), notice.hardDeadline() + slack);
  }

  private void watchReturn(Notice notice) {
    Coordinator.armAt(timers, clock, "notice-" + notice.dpuId(), new Coordinator.BackBy(notice.dpuId(), notice.id()), notice.expectBackBy());
    stopWatch(notice.dpuId());
    DpuEndpoint dpu = settings.dpu(notice.dpuId()).orElseThrow();
    watches.put(notice.dpuId(), notice.id());
    fleet.followReturn(dpu, notice.id(), notice.leavingBootId());
  }

  private void stopWatch(String dpuId) {
    String noticeId = watches.remove(dpuId);
    if (noticeId != null) {
      fleet.release(dpuId, noticeId);
    }
  }
}
