package io.github.dpucoordinator.npu.notice;

import io.github.dpucoordinator.common.Deadline;
import io.github.dpucoordinator.npu.dpu.DpuFleet;
import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.notice.NoticeEntity.Back;
import io.github.dpucoordinator.npu.notice.NoticeEntity.BackBy;
import io.github.dpucoordinator.npu.notice.NoticeEntity.HardDeadline;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootFinished;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootGoing;
import io.github.dpucoordinator.npu.notice.NoticeEvent.DpuRebootNoticed;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.GoingReceived;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.GoingReply;
import io.github.dpucoordinator.npu.settings.NegotiationSettings;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.javadsl.Effect;

/**
 * The second half of a DPU-initiated reboot, for the {@link NoticeEntity}: the DPU goes (it says so, or its hard
 * deadline passes with no word from it), and comes back within its boot wait, or is marked not back. Its timers are
 * armed from the journaled deadlines, again after a restart ({@link #recover}).
 */
final class NoticeReturns {
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final NpuSettings settings;
  private final DpuFleet<Command> fleet;
  private final Clock clock;
  private final JournalWrites<NoticeEvent, NoticeBook> journal;
  /** Transient: each DPU's return watch (the notice it follows). */
  private final Map<String, String> watches = new HashMap<>();

  NoticeReturns(ActorContext<Command> ctx, TimerScheduler<Command> timers, NpuSettings settings, DpuFleet<Command> fleet, Clock clock,
      JournalWrites<NoticeEvent, NoticeBook> journal) {
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.fleet = fleet;
    this.clock = clock;
    this.journal = journal;
  }

  private NegotiationSettings n() {
    return settings.negotiation();
  }

  Effect<NoticeEvent, NoticeBook> onGoing(NoticeBook s, GoingReceived g) {
    if (settings.dpu(g.dpuId()).isEmpty()) {
      g.replyTo().tell(new GoingReply(false, "unknown DPU '" + g.dpuId() + "'", 0));
      return journal.none();
    }
    long now = clock.millis();
    Notice notice = s.notice(g.dpuId(), g.noticeId());
    if (notice != null && notice.going()) {
      g.replyTo().tell(new GoingReply(true, "already recorded", notice.expectBackBy()));
      return journal.none();
    }
    List<NoticeEvent> events = new ArrayList<>();
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
    return journal.persist(events).thenRun(next -> {
      ctx.getLog().warn("[campaign={} dpu={}] DPU is rebooting now ({}); expected back by {}", g.noticeId(), g.dpuId(), g.why(),
          Instant.ofEpochMilli(backBy));
      g.replyTo().tell(new GoingReply(true, "recorded; expected back by " + Instant.ofEpochMilli(backBy), backBy));
      watchReturn(next.notices().get(g.dpuId()));
    });
  }

  Effect<NoticeEvent, NoticeBook> onHardDeadline(NoticeBook s, HardDeadline d) {
    Notice notice = s.notice(d.dpuId(), d.noticeId());
    if (notice == null || notice.going()) {
      return journal.none();
    }
    long backBy = notice.hardDeadline() + settings.policy(d.dpuId()).bootWait().toMillis();
    return journal.persist(new DpuRebootGoing(d.noticeId(), d.dpuId(), "hard deadline passed with no word from the DPU", backBy,
        clock.millis(), "")).thenRun(next -> {
          ctx.getLog().warn("[campaign={} dpu={}] hard deadline {} passed; counting the DPU as rebooting, expected back by {}", d.noticeId(),
              d.dpuId(), Instant.ofEpochMilli(notice.hardDeadline()), Instant.ofEpochMilli(backBy));
          watchReturn(next.notices().get(d.dpuId()));
        });
  }

  Effect<NoticeEvent, NoticeBook> onBack(NoticeBook s, Back b) {
    Notice notice = s.notice(b.dpuId(), b.noticeId());
    if (notice == null || !notice.going()) {
      return journal.none();
    }
    long took = (clock.millis() - notice.wentAt()) / 1000;
    return finish(notice, "ok", "back: " + b.detail() + " after " + took + " s");
  }

  Effect<NoticeEvent, NoticeBook> onBackBy(NoticeBook s, BackBy b) {
    Notice notice = s.notice(b.dpuId(), b.noticeId());
    if (notice == null || !notice.going()) {
      return journal.none();
    }
    ctx.getLog().warn("[campaign={} dpu={}] not back by {} after its own reboot; marked unavailable", b.noticeId(), b.dpuId(),
        Instant.ofEpochMilli(notice.expectBackBy()));
    return finish(notice, "not back", "not Listening within its boot wait (" + settings.policy(b.dpuId()).bootWait().toSeconds() + " s)");
  }

  private Effect<NoticeEvent, NoticeBook> finish(Notice notice, String outcome, String detail) {
    return journal.persist(new DpuRebootFinished(notice.id(), notice.dpuId(), outcome, detail, clock.millis())).thenRun(next -> {
      ctx.getLog().info("[campaign={} dpu={}] DPU-initiated reboot finished: {} ({})", notice.id(), notice.dpuId(), outcome, detail);
      stopWatch(notice.dpuId());
      timers.cancel("notice-" + notice.dpuId());
      fleet.release(notice.dpuId(), ""); // its next state is no news to the idle watch
    });
  }

  /** After a restart: every notice in flight gets its timers (from the journaled deadlines) and watch again. */
  void recover(NoticeBook s) {
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

  void armHardDeadline(Notice notice) {
    // Slack for the DPU's own word that it went, which says more than our timer.
    long slack = n().answerWithin().toMillis() + settings.signal().rpcTimeout().toMillis();
    Deadline.armAt(timers, clock, "notice-" + notice.dpuId(), new HardDeadline(notice.dpuId(), notice.id()), notice.hardDeadline() + slack);
  }

  private void watchReturn(Notice notice) {
    Deadline.armAt(timers, clock, "notice-" + notice.dpuId(), new BackBy(notice.dpuId(), notice.id()), notice.expectBackBy());
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
