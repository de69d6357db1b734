package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.npu.coordinator.CoordinatorProtocol.Command;
import io.github.dpucoordinator.npu.dpu.DpuActor;
import io.github.dpucoordinator.npu.dpu.LinkStart;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * The coordinator's {@link DpuActor}s, one child per configured DPU for the coordinator's life (a DPU that only a
 * recovered campaign still names gets one when first asked for), and the adapters through which their reports come
 * back as coordinator commands. A restart of the coordinator stops its children: {@link #renew} spawns them again
 * once it has recovered.
 */
final class DpuFleet {
  private final ActorContext<Command> ctx;
  private final DpuTransport transport;
  private final NpuSettings settings;
  private final Random random;
  private final Clock clock;
  private final Map<String, ActorRef<DpuActor.Command>> actors = new LinkedHashMap<>();
  /** Counts the coordinator's incarnations: a child's name must be unique among its siblings until it has stopped. */
  private long incarnation;
  private ActorRef<DpuActor.Report> reports;
  private ActorRef<DpuActor.Returned> returns;
  private ActorRef<DpuActor.Changed> changes;

  DpuFleet(ActorContext<Command> ctx, DpuTransport transport, NpuSettings settings, Random random, Clock clock) {
    this.ctx = ctx;
    this.transport = transport;
    this.settings = settings;
    this.random = random;
    this.clock = clock;
  }

  /** After the coordinator's recovery (the first, or after a restart that stopped its children): a fresh actor per DPU. */
  void renew() {
    incarnation++;
    actors.clear();
    reports = ctx.messageAdapter(DpuActor.Report.class, r -> new CoordinatorProtocol.FromLink(r.workId(), r.dpuId(), r.report()));
    returns = ctx.messageAdapter(DpuActor.Returned.class, r -> new CoordinatorProtocol.NoticeBack(r.dpuId(), r.noticeId(), r.detail()));
    changes = ctx.messageAdapter(DpuActor.Changed.class, c -> new CoordinatorProtocol.WatchReport(c.dpuId(), c.what(), c.detail()));
    settings.dpus().forEach(this::actor);
  }

  private ActorRef<DpuActor.Command> actor(DpuEndpoint dpu) {
    return actors.computeIfAbsent(dpu.id(), id ->
        ctx.spawn(DpuActor.create(dpu, transport, settings, random, clock, changes), "dpu-" + Ids.safe(id) + "-" + incarnation));
  }

  void engage(DpuEndpoint dpu, LinkStart start) {
    actor(dpu).tell(new DpuActor.Engage(dpu, start, reports));
  }

  void awaitReady(DpuEndpoint dpu, LinkStart ready) {
    actor(dpu).tell(new DpuActor.AwaitReady(dpu, ready, reports));
  }

  void stopSignalling(String dpuId, String workId) {
    tell(dpuId, new DpuActor.StopSignalling(workId));
  }

  /** Work {@code workId} of this DPU is over ("": only that something planned for it ended). */
  void release(String dpuId, String workId) {
    tell(dpuId, new DpuActor.Release(workId));
  }

  void followReturn(DpuEndpoint dpu, String noticeId, String leavingBootId) {
    actor(dpu).tell(new DpuActor.FollowReturn(noticeId, leavingBootId, returns));
  }

  /** Every DPU actor watches while idle ({@code on}), or none does. */
  void watch(boolean on) {
    actors.values().forEach(a -> a.tell(new DpuActor.Watch(on)));
  }

  /** Asks the DPU once, through its actor; {@code then} makes the coordinator's command of the answer. */
  void observe(DpuEndpoint dpu, Function<DpuActor.Answer, Command> then) {
    Duration timeout = settings.signal().rpcTimeout().plusSeconds(1);
    ctx.ask(DpuActor.Answer.class, actor(dpu), timeout, r -> new DpuActor.Observe(r, settings.signal().rpcTimeout()),
        (answer, failure) -> then.apply(answer != null ? answer : new DpuActor.Answer(dpu.id(), null, failure)));
  }

  /** Asks the DPU once, through its actor, with the answer straight to {@code replyTo}. */
  void ask(String dpuId, Duration timeout, ActorRef<DpuActor.Answer> replyTo) {
    ActorRef<DpuActor.Command> actor = actors.get(dpuId);
    if (actor == null) {
      replyTo.tell(new DpuActor.Answer(dpuId, null, new IllegalArgumentException("unknown DPU '" + dpuId + "'")));
    } else {
      actor.tell(new DpuActor.Observe(replyTo, timeout));
    }
  }

  private void tell(String dpuId, DpuActor.Command command) {
    ActorRef<DpuActor.Command> actor = actors.get(dpuId);
    if (actor != null) {
      actor.tell(command);
    }
  }
}
