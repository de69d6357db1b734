package io.github.dpucoordinator.agent.notice;

import io.github.dpucoordinator.agent.machine.AgentSnapshot;
import io.github.dpucoordinator.agent.machine.AgentState;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.proto.notice.RebootGoingAck;
import io.github.dpucoordinator.proto.notice.RebootGoingNotice;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The going of one DPU-initiated reboot, a child of the {@link RebootNegotiator} for as long as it lasts: it tells the
 * NPU the DPU is going (best effort, with the boot id it is leaving, so the NPU knows it is back however quick the
 * reboot), hands the {@link DpuAgent} a COLD reboot under the notice id, and waits (long polls) for the agent to be
 * Listening again; then it tells its parent {@link Back} and stops. The parent stops it if the notice is superseded.
 */
final class RebootGoing extends AbstractBehavior<RebootGoing.Msg> {

  interface Msg {}

  /** The DPU rebooted and is Listening again after notice {@code noticeId}. */
  record Back(String noticeId) implements RebootNegotiatorProtocol.Command {}

  private record LeavingBootId(String bootId) implements Msg {}

  private record GoingTold(RebootGoingAck ack, Throwable failure) implements Msg {}

  private record AgentAnswered(DpuAgent.SignalOutcome outcome, Throwable failure) implements Msg {}

  private record AgentObserved(long sinceVersion, AgentSnapshot snapshot) implements Msg {}

  private static final Duration AGENT_WATCH = Duration.ofSeconds(60);

  static Behavior<Msg> create(RebootNotice notice, AgentSettings settings, ActorRef<DpuAgent.Command> agent, Clock clock,
      Optional<NpuNoticeClient> npu, ActorRef<Back> parent) {
    return Behaviors.setup(ctx -> new RebootGoing(ctx, notice, settings, agent, clock, npu, parent));
  }

  private final RebootNotice notice;
  private final AgentSettings settings;
  private final ActorRef<DpuAgent.Command> agent;
  private final Clock clock;
  private final Optional<NpuNoticeClient> npu;
  private final ActorRef<Back> parent;

  private RebootGoing(ActorContext<Msg> ctx, RebootNotice notice, AgentSettings settings, ActorRef<DpuAgent.Command> agent, Clock clock,
      Optional<NpuNoticeClient> npu, ActorRef<Back> parent) {
    super(ctx);
    this.notice = notice;
    this.settings = settings;
    this.agent = agent;
    this.clock = clock;
    this.npu = npu;
    this.parent = parent;
    if (npu.isPresent()) {
      ctx.ask(AgentSnapshot.class, agent, settings.askTimeout(), r -> new DpuAgent.GetState(-1, Duration.ZERO, r),
          (snapshot, failure) -> new LeavingBootId(snapshot == null ? "" : snapshot.bootId()));
    } else {
      rebootNow();
    }
  }

  @Override
  public Receive<Msg> createReceive() {
    return newReceiveBuilder()
        .onMessage(LeavingBootId.class, this::onLeavingBootId)
        .onMessage(GoingTold.class, this::onGoingTold)
        .onMessage(AgentAnswered.class, this::onAgentAnswered)
        .onMessage(AgentObserved.class, this::onAgentObserved)
        .build();
  }

  private Behavior<Msg> onLeavingBootId(LeavingBootId leaving) {
    RebootGoingNotice going = RebootGoingNotice.newBuilder().setDpuId(settings.dpuId()).setNoticeId(notice.id())
        .setAtUnixMs(clock.millis()).setWhy(notice.wentWhy()).setBootId(leaving.bootId()).build();
    getContext().pipeToSelf(npu.orElseThrow().rebootGoing(going), GoingTold::new);
    return this;
  }

  private Behavior<Msg> onGoingTold(GoingTold told) {
    if (told.failure() != null) {
      getContext().getLog().warn("[campaign={} dpu={}] could not tell the NPU the DPU is going: {}", notice.id(), settings.dpuId(),
          Failures.describe(told.failure()));
    } else {
      getContext().getLog().info("[campaign={} dpu={}] NPU told the DPU is going: {}", notice.id(), settings.dpuId(), told.ack().getMessage());
    }
    rebootNow();
    return this;
  }

  private void rebootNow() {
    getContext().ask(DpuAgent.SignalOutcome.class, agent, settings.askTimeout(),
        replyTo -> new DpuAgent.Signal(notice.id(), DpuAgent.Method.COLD, "dpu-reboot", notice.reason(), 0, Duration.ZERO, replyTo),
        AgentAnswered::new);
  }

  private Behavior<Msg> onAgentAnswered(AgentAnswered a) {
    if (a.failure() != null) {
      getContext().getLog().error("[campaign={} dpu={}] the agent did not take the reboot: {}", notice.id(), settings.dpuId(),
          Failures.describe(a.failure()));
      return Behaviors.stopped();
    }
    getContext().getLog().info("[campaign={} dpu={}] agent: {}", notice.id(), settings.dpuId(), a.outcome().ack());
    watch(a.outcome().version());
    return this;
  }

  /** Waits (long polls) for the agent to be Listening again after the reboot. */
  private void watch(long sinceVersion) {
    getContext().ask(AgentSnapshot.class, agent, AGENT_WATCH.plus(settings.askTimeout()),
        replyTo -> new DpuAgent.GetState(sinceVersion, AGENT_WATCH, replyTo), (snapshot, failure) -> new AgentObserved(sinceVersion, snapshot));
  }

  private Behavior<Msg> onAgentObserved(AgentObserved o) {
    if (o.snapshot() != null && o.snapshot().state() == AgentState.LISTENING && o.snapshot().version() > o.sinceVersion()) {
      parent.tell(new Back(notice.id()));
      return Behaviors.stopped();
    }
    watch(o.snapshot() != null ? o.snapshot().version() : o.sinceVersion());
    return this;
  }
}
