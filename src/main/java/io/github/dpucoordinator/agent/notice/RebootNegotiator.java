package io.github.dpucoordinator.agent.notice;

import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.agent.settings.RebootNoticeSettings;
import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.common.UtcTime;
import io.github.dpucoordinator.proto.notice.DpuRebootNotice;
import io.github.dpucoordinator.proto.notice.NoticeAnswer;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Random;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A reboot the DPU asks for itself (R1-R4): tell the NPU first, honour a postponement from an allowed identity within
 * the caps, and go at the hard deadline whatever happens. Going tells the NPU (best effort) and then hands the
 * {@link DpuAgent} a COLD reboot under the notice id, so the usual cleanup, shutdown steps and restart action run; it
 * happens once per notice.
 *
 * <p>Rounds: a notice is sent (round 1), answered ACK (go) or POSTPONE (wait, then the next round); an unanswered round
 * is re-sent after retry-interval. Every postponement is capped ({@link RebootNoticeSettings#capped}).
 */
public final class RebootNegotiator extends AbstractBehavior<RebootNegotiator.Command> implements RebootNegotiatorProtocol {
  /** Longest hard deadline a DPU-initiated reboot may have. */
  static final Duration MAX_DEADLINE = Duration.ofDays(7);

  /** {@code attempt} tells a late answer to an earlier sending of the round from the current one. */
  private record Answered(String noticeId, int round, int attempt, NoticeAnswer answer, Throwable failure) implements Command {}
  private record RoundDue(String noticeId, boolean nextRound) implements Command {}
  private record HardDeadline(String noticeId) implements Command {}

  private static final String ROUND = "round";
  private static final String DEADLINE = "hard-deadline";

  /** {@code npuTls}: how the NPU is reached (agent.npu-tls, read and checked by the agent's start). */
  public static Behavior<Command> create(AgentSettings settings, ActorRef<DpuAgent.Command> agent, Clock clock,
      io.github.dpucoordinator.common.tls.ClientTls npuTls) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new RebootNegotiator(ctx, timers, settings, agent, clock, npuTls)));
  }

  private final TimerScheduler<Command> timers;
  private final AgentSettings settings;
  private final RebootNoticeSettings caps;
  private final ActorRef<DpuAgent.Command> agent;
  private final Clock clock;
  private final Optional<NpuNoticeClient> npu;
  private final Random random = new Random();
  private RebootNotice notice;
  private int attempt;
  /** Why the NPU rejected the notice in flight (it does not know this DPU, or the notice is malformed); empty: it did not. */
  private String rejection = "";
  /** The going of the notice in flight, once it goes. */
  private ActorRef<RebootGoing.Msg> going;

  private RebootNegotiator(ActorContext<Command> ctx, TimerScheduler<Command> timers, AgentSettings settings,
      ActorRef<DpuAgent.Command> agent, Clock clock, io.github.dpucoordinator.common.tls.ClientTls npuTls) {
    super(ctx);
    this.timers = timers;
    this.settings = settings;
    this.caps = settings.notice();
    this.agent = agent;
    this.clock = clock;
    this.npu = caps.hasNpu() ? Optional.of(new NpuNoticeClient(caps, ctx.getSystem(), npuTls)) : Optional.empty();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(RequestReboot.class, this::onRequest)
        .onMessage(GetNotice.class, this::onGet)
        .onMessage(Postpone.class, this::onPostpone)
        .onMessage(Answered.class, this::onAnswered)
        .onMessage(RoundDue.class, this::onRoundDue)
        .onMessage(HardDeadline.class, this::onHardDeadline)
        .onMessage(RebootGoing.Back.class, this::onBack)
        .onSignal(PostStop.class, s -> {
          npu.ifPresent(NpuNoticeClient::close);
          return this;
        })
        .build();
  }

  private Behavior<Command> onRequest(RequestReboot r) {
    if (notice != null && notice.inFlight()) {
      r.replyTo().tell(new Reply(false, "notice " + notice.id() + " is already in flight (" + notice.phase() + ", round "
          + notice.round() + "); postpone it or wait for it", Optional.of(notice)));
      return this;
    }
    long deadlineMs = r.deadlineMs() == 0 ? caps.defaultDeadline().toMillis() : r.deadlineMs();
    if (deadlineMs < 0 || deadlineMs < caps.noticeTimeout().toMillis()) {
      r.replyTo().tell(new Reply(false, "deadline " + r.deadlineMs() + " ms is " + (deadlineMs < 0 ? "negative" : "shorter than "
          + "dpu-coordinator.agent.reboot-notice.notice-timeout (" + caps.noticeTimeout().toMillis() + " ms)"), Optional.ofNullable(notice)));
      return this;
    }
    if (deadlineMs > MAX_DEADLINE.toMillis()) { // found by the fuzzer: a huge one overflowed the timer and restarted this actor
      r.replyTo().tell(new Reply(false, "deadline " + r.deadlineMs() + " ms is longer than " + MAX_DEADLINE.toDays() + " days",
          Optional.ofNullable(notice)));
      return this;
    }
    if (notice != null && notice.phase() == RebootNotice.Phase.REBOOTING) {
      record(notice.done().logged("superseded by a new request", true), "notice superseded by a new request");
      getContext().stop(going);
    }
    long now = clock.millis();
    String reason = r.reason().isBlank() ? "operator request" : r.reason().strip();
    notice = RebootNotice.start(Ids.newId(random, "n", now), settings.dpuId(), reason, now, now + deadlineMs);
    rejection = "";
    info("DPU-initiated reboot requested ('{}'); hard deadline {}", reason, UtcTime.of(notice.hardDeadline()));
    timers.startSingleTimer(DEADLINE, new HardDeadline(notice.id()), Duration.ofMillis(deadlineMs));
    if (npu.isEmpty()) {
      getContext().getLog().warn("[campaign={} dpu={}] no NPU configured (dpu-coordinator.agent.npu-address): rebooting without notice",
          notice.id(), settings.dpuId());
      go("no NPU configured (dpu-coordinator.agent.npu-address)", "no NPU configured (dpu-coordinator.agent.npu-address); rebooting");
    } else {
      notice = notice.nextRound();
      sendRound();
    }
    r.replyTo().tell(new Reply(true, "notice " + notice.id() + " started", Optional.of(notice)));
    return this;
  }

  private Behavior<Command> onGet(GetNotice g) {
    g.replyTo().tell(new Reply(true, notice == null ? "no DPU-initiated reboot since the agent started" : "", Optional.ofNullable(notice)));
    return this;
  }

  private void sendRound() {
    attempt++;
    int round = notice.round();
    int sent = attempt;
    String id = notice.id();
    info("round {}{}: telling the NPU at {}", round, sent > 1 ? " (attempt " + sent + ")" : "", caps.npuAddress());
    DpuRebootNotice n = DpuRebootNotice.newBuilder().setDpuId(settings.dpuId()).setNoticeId(id).setReason(notice.reason())
        .setPlannedUnixMs(notice.plannedAt()).setHardDeadlineUnixMs(notice.hardDeadline()).setRound(round).build();
    getContext().pipeToSelf(npu.orElseThrow().notifyReboot(n), (answer, failure) -> new Answered(id, round, sent, answer, failure));
  }

  private Behavior<Command> onAnswered(Answered a) {
    if (!current(a.noticeId()) || notice.phase() != RebootNotice.Phase.NOTIFYING || a.round() != notice.round() || a.attempt() != attempt) {
      return this; // answers a round that a postponement or the hard deadline overtook
    }
    NpuAnswer.Verdict verdict = NpuAnswer.of(a.round(), a.answer(), a.failure(), notice, caps, clock.millis());
    if (verdict instanceof NpuAnswer.Rejected r) {
      // The NPU is there and says no: asking again cannot help. The DPU keeps its word and waits for its hard deadline.
      rejection = r.rejection();
      getContext().getLog().error("[campaign={} dpu={}] {}", notice.id(), settings.dpuId(), r.line());
      notice = notice.logged(r.line(), false);
    } else if (verdict instanceof NpuAnswer.Retry r) {
      record(notice.logged(r.line(), false), r.line());
      timers.startSingleTimer(ROUND, new RoundDue(notice.id(), false), caps.retryInterval());
    } else if (verdict instanceof NpuAnswer.Go g) {
      go(g.why(), g.line());
    } else if (verdict instanceof NpuAnswer.Postpone p) {
      postpone(p.until(), p.line());
    }
    return this;
  }

  private Behavior<Command> onPostpone(Postpone p) {
    String refusal = RebootNotice.postponeRefusal(notice, caps, p.noticeId(), p.identity());
    if (refusal != null) {
      getContext().getLog().info("[campaign={} dpu={}] postponement by '{}' refused: {}", notice == null ? "-" : notice.id(),
          settings.dpuId(), p.identity(), refusal);
      p.replyTo().tell(new PostponeReply(false, 0, refusal));
      return this;
    }
    long now = clock.millis();
    long granted = notice.capped(caps, p.untilMillis(), now);
    if (granted <= now) {
      p.replyTo().tell(new PostponeReply(false, 0, p.untilMillis() <= now ? "until " + UtcTime.of(p.untilMillis()) + " is not in the future"
          : "postponement cap reached (planned + max-postpone-total, or the hard deadline); the DPU reboots now or at the next round"));
      return this;
    }
    timers.cancel(ROUND);
    String line = p.identity() + " postponed until " + UtcTime.of(p.untilMillis())
        + (p.reason().isBlank() ? "" : " (" + p.reason().strip() + ")") + "; granted until " + UtcTime.of(granted);
    postpone(granted, line);
    p.replyTo().tell(new PostponeReply(true, granted, "notice " + notice.id() + " postponed until " + UtcTime.of(granted)
        + (granted < p.untilMillis() ? " (capped)" : "")));
    // The NPU's view of the notice follows (its own last answer is overtaken); best effort, the next round tells it anyway.
    String id = notice.id();
    npu.ifPresent(client -> client.tellPostponed(settings.dpuId(), id, granted, p.identity(), p.reason()));
    return this;
  }

  private void postpone(long until, String line) {
    record(notice.postponed(until).logged(line, false), line);
    timers.startSingleTimer(ROUND, new RoundDue(notice.id(), true), Duration.ofMillis(Math.max(0, until - clock.millis())));
  }

  private Behavior<Command> onRoundDue(RoundDue due) {
    if (current(due.noticeId()) && notice.inFlight()) {
      if (due.nextRound()) {
        notice = notice.nextRound();
        attempt = 0;
      }
      sendRound();
    }
    return this;
  }

  private Behavior<Command> onHardDeadline(HardDeadline d) {
    if (current(d.noticeId()) && notice.inFlight()) {
      go(rejection.isEmpty() ? "hard deadline" : "hard deadline (the NPU rejected the notice: " + rejection + ")",
          "hard deadline reached; rebooting");
    }
    return this;
  }

  /** Goes once: a child tells the NPU (bounded by notice-timeout), then has the agent reboot the DPU, and says when it is back. */
  private void go(String why, String line) {
    timers.cancel(ROUND);
    timers.cancel(DEADLINE);
    notice = notice.going(why).logged(line, true);
    getContext().getLog().warn("[campaign={} dpu={}] {} (why: {})", notice.id(), settings.dpuId(), line, why);
    going = getContext().spawnAnonymous(RebootGoing.create(notice, settings, agent, clock, npu, getContext().getSelf().narrow()));
  }

  private Behavior<Command> onBack(RebootGoing.Back back) {
    if (current(back.noticeId()) && notice.phase() == RebootNotice.Phase.REBOOTING) {
      record(notice.done().logged("the DPU is back (LISTENING)", true), "the DPU is back (LISTENING); notice done");
    }
    return this;
  }

  private boolean current(String noticeId) {
    return notice != null && notice.id().equals(noticeId);
  }

  private void record(RebootNotice next, String logLine) {
    notice = next;
    info("{}", logLine);
  }

  private void info(String format, Object... args) {
    if (getContext().getLog().isInfoEnabled()) {
      getContext().getLog().info("[campaign=" + (notice == null ? "-" : notice.id()) + " dpu=" + settings.dpuId() + "] " + format, args);
    }
  }
}
