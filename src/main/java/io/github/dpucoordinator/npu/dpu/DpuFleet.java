package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * An entity's handle on the {@link DpuActor}s, which the chassis spawns, one per configured DPU, for the service's life:
 * the entity asks them for work, and their reports come back through its own adapters. A DPU that only a recovered
 * campaign still names (it has left the configuration) gets an actor of the entity's own when first asked for.
 *
 * @param <C> the entity's command type
 */
public final class DpuFleet<C> {
  private final ActorContext<C> ctx;
  private final Map<String, ActorRef<DpuActor.Command>> actors;
  private final DpuTransport transport;
  private final NpuSettings settings;
  private final Random random;
  private final Clock clock;
  private final ActorRef<DpuActor.Report> reports;
  private final ActorRef<DpuActor.Returned> returns;
  private long epoch;

  /** {@code actors}: the chassis' DPU actors by DPU id; {@code reports}, {@code returns}: how their news becomes the entity's (null {@code returns}: it never follows a DPU's own reboot). */
  public DpuFleet(ActorContext<C> ctx, Map<String, ActorRef<DpuActor.Command>> actors, DpuTransport transport, NpuSettings settings,
      Random random, Clock clock, Function<DpuActor.Report, C> reports, Function<DpuActor.Returned, C> returns) {
    this.ctx = ctx;
    this.actors = new java.util.HashMap<>(actors);
    this.transport = transport;
    this.settings = settings;
    this.random = random;
    this.clock = clock;
    this.reports = ctx.messageAdapter(DpuActor.Report.class, reports::apply);
    this.returns = returns == null ? ctx.getSystem().ignoreRef() : ctx.messageAdapter(DpuActor.Returned.class, returns::apply);
  }

  /**
   * The entity has recovered (at start, or after a restart that reused this handle): what it asks for from now on is
   * a new epoch, so work it asks for again starts over from what it journaled.
   */
  public void renew() {
    epoch = random.nextLong();
  }

  private ActorRef<DpuActor.Command> actor(DpuEndpoint dpu) {
    return actors.computeIfAbsent(dpu.id(), id -> ctx.spawn(DpuActor.create(dpu, transport, settings, random, clock,
        ctx.getSystem().ignoreRef()), "dpu-" + Ids.safe(id) + "-" + Ids.newId(random, "x", clock.millis())));
  }

  public void engage(DpuEndpoint dpu, LinkStart start) {
    actor(dpu).tell(new DpuActor.Engage(dpu, start, reports, epoch));
  }

  public void awaitReady(DpuEndpoint dpu, LinkStart ready) {
    actor(dpu).tell(new DpuActor.AwaitReady(dpu, ready, reports));
  }

  public void stopSignalling(String dpuId, String workId) {
    tell(dpuId, new DpuActor.StopSignalling(workId));
  }

  /** The baseline this DPU's actor reported for work {@code workId} is journaled: its signal may go. */
  public void baselineJournaled(String dpuId, String workId) {
    tell(dpuId, new DpuActor.BaselineJournaled(workId));
  }

  /** Work {@code workId} of this DPU is over ("": only that something planned for it ended). */
  public void release(String dpuId, String workId) {
    tell(dpuId, new DpuActor.Release(workId));
  }

  public void followReturn(DpuEndpoint dpu, String noticeId, String leavingBootId) {
    actor(dpu).tell(new DpuActor.FollowReturn(noticeId, leavingBootId, returns));
  }

  /** Asks the DPU once, through its actor; {@code then} makes the entity's command of the answer. */
  public void observe(DpuEndpoint dpu, Duration timeout, Function<DpuActor.Answer, C> then) {
    Duration wait = timeout.plus(timeout.dividedBy(4)); // the actor's own answer ("not answering") comes first
    ctx.ask(DpuActor.Answer.class, actor(dpu), wait, r -> new DpuActor.Observe(r, timeout),
        (answer, failure) -> then.apply(answer != null ? answer : new DpuActor.Answer(dpu.id(), null, failure)));
  }

  private void tell(String dpuId, DpuActor.Command command) {
    ActorRef<DpuActor.Command> actor = actors.get(dpuId);
    if (actor != null) {
      actor.tell(command);
    }
  }
}
