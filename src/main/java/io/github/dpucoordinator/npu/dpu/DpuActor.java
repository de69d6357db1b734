package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport.Observation;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Clock;
import java.time.Duration;
import java.util.Random;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * One DPU as the NPU sees it, for the life of the coordinator that spawns it: the only actor that talks to its DPU.
 * Each of its states is its own behavior: {@link DpuIdle} (no work; outside campaigns it watches for changes nobody planned), {@link DpuWork}
 * (a campaign's or a module transition's work: the signal with retries, completion, readiness after a reboot) and
 * {@link DpuReturn} (following a DPU that reboots on its own until it is back). Whoever owns the work (the coordinator's
 * campaign, a module transition, a notice) asks for it with {@link Engage}, {@link AwaitReady} or {@link FollowReturn}
 * and hears back through its own adapter; the journaled part of the budget (attempts, acknowledgment, evidence of
 * completion) comes with the request, so work resumed after a restart of the NPU service goes on with it.
 *
 * <p>Supervised: restarted with backoff, with what it learned kept ({@link DpuMemory}), so a restart of its own does not
 * grant its work a fresh budget; work whose actor fails {@value LinkMemory#MAX_RESTARTS} times within a minute is
 * given up and reported.
 */
public final class DpuActor {
  private DpuActor() {}

  /** What a DPU actor accepts; its states add private messages of their own. */
  public interface Command {}

  /**
   * Do this work (replacing any other). Reports go to {@code replyTo}. The same work again from the same {@code epoch}
   * of its owner is ignored; from another epoch (the owner recovered, and may have lost reports it had not journaled)
   * the work starts over from the journaled start it sends.
   */
  public record Engage(DpuEndpoint endpoint, LinkStart start, ActorRef<Report> replyTo, long epoch) implements Command {
    public Engage(DpuEndpoint endpoint, LinkStart start, ActorRef<Report> replyTo) {
      this(endpoint, start, replyTo, 0);
    }
  }

  /** The reboot is over: report {@link LinkReport.Ready} once the DPU is Listening (starting {@code ready} if not engaged in it). */
  public record AwaitReady(DpuEndpoint endpoint, LinkStart ready, ActorRef<Report> replyTo) implements Command {}

  /** The owner of work {@code workId} has journaled the {@link LinkReport.Baselined} baseline: the signal may go. */
  public record BaselineJournaled(String workId) implements Command {}

  /** The work's deadline has passed: no more signal attempts (a late signal must not shut a DPU down now). */
  public record StopSignalling(String workId) implements Command {}

  /**
   * The work {@code workId} is over: back to idle. An idle actor takes it to mean that something planned for its DPU
   * just ended, so what the DPU looks like next is its new baseline, not a change ({@code workId} "" says only that).
   */
  public record Release(String workId) implements Command {}

  /** The DPU said it reboots on its own: report {@link Returned} once it is back. */
  public record FollowReturn(String noticeId, String leavingBootId, ActorRef<Returned> replyTo) implements Command {}

  /** Watch for changes nobody planned while idle ({@code on}), or not (a campaign is in flight). */
  public record Watch(boolean on) implements Command {}

  /** Ask the DPU once for its state, whatever this actor is doing, waiting at most {@code timeout} for it. */
  public record Observe(ActorRef<Answer> replyTo, Duration timeout) implements Command {}

  /** What the DPU actor learned doing work {@code workId}. */
  public record Report(String workId, String dpuId, LinkReport report) {}

  /** A DPU that rebooted on its own is back. */
  public record Returned(String noticeId, String dpuId, String detail) {}

  /** While idle and watching, the DPU went away, came back or restarted ({@code what}). */
  public record Changed(String dpuId, String what, String detail) {}

  /** The answer to {@link Observe}: an observation, or the failure reaching the DPU. */
  public record Answer(String dpuId, Observation observation, Throwable failure) {}

  /** The actor for {@code dpu}; its changes while idle go to {@code changes}. */
  public static Behavior<Command> create(DpuEndpoint dpu, DpuTransport transport, NpuSettings settings, Random random, Clock clock,
      ActorRef<Changed> changes) {
    return Behaviors.setup(outer -> {
      DpuMemory memory = new DpuMemory();
      Behavior<Command> incarnation = Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
          new DpuCore(ctx, timers, dpu, transport, settings, random, clock, changes, memory).resume()));
      return Behaviors.supervise(incarnation)
          .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    });
  }
}
