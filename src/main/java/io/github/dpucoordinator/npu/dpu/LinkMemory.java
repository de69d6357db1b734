package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * One piece of a {@link DpuActor}'s work and what it has learned doing it, kept across restarts of the actor so that
 * it goes on with the same attempt budget instead of starting it over: attempts used, the acknowledgment and its
 * evidence, whether it was told to stop signalling or to report readiness, whether it has reported its outcome, and
 * when the actor was restarted doing it.
 */
public final class LinkMemory {
  /** The DPU as the work's owner journaled it. */
  final DpuEndpoint endpoint;
  final LinkStart start;
  private ActorRef<DpuActor.Report> replyTo;
  /** The epoch of the owner that asked for this work ({@link DpuActor.Engage#epoch}). */
  long epoch;
  int attempts;
  boolean acknowledged;
  DpuTransport.Evidence evidence;
  /** The DPU's reboot record before the first signal (null: none read yet), and whether its owner has journaled it. */
  DpuTransport.Baseline baseline;
  boolean baselineJournaled;
  boolean signallingStopped;
  boolean readyWanted;
  boolean resolved;
  private boolean started;
  private final java.util.Deque<Long> restarts = new java.util.ArrayDeque<>();
  /** When the halt timeout runs out (0: not armed yet), so a restarted actor does not grant it afresh. */
  private long haltDeadline;

  /** After a reboot, readiness may be asked for by a new incarnation of the work's owner: its reports go there. */
  void rebind(ActorRef<DpuActor.Report> owner) {
    this.replyTo = owner;
  }


  LinkMemory(DpuEndpoint endpoint, LinkStart start, ActorRef<DpuActor.Report> replyTo) {
    this.endpoint = endpoint;
    this.start = start;
    this.replyTo = replyTo;
    attempts = start.attemptsSoFar();
    acknowledged = start.acknowledged();
    baseline = start.baseline();
    baselineJournaled = baseline != null;
    evidence = new DpuTransport.Evidence(start.countBefore(), false).with(baseline);
    readyWanted = start.mode() == LinkStart.Mode.READY;
  }

  void report(LinkReport report) {
    replyTo.tell(new DpuActor.Report(start.campaignId(), endpoint.id(), report));
  }

  /** What is left of the halt timeout at {@code now}: all of {@code timeout} when {@code afresh} or not armed yet. */
  Duration haltLeft(long now, Duration timeout, boolean afresh) {
    if (afresh || haltDeadline == 0) {
      haltDeadline = now + timeout.toMillis();
    }
    return Duration.ofMillis(Math.max(0, haltDeadline - now));
  }

  /** The DPU failed its shutdown and is asked again: the next acknowledgment gets the whole halt timeout, as the first did. */
  void signalAgain() {
    acknowledged = false;
    haltDeadline = 0;
    // the new run's record: the failed one has moved the old baseline
    baseline = null;
    baselineJournaled = false;
    evidence = DpuTransport.Evidence.NONE;
  }

  /** Work this actor fails this many times within {@link #RESTART_WINDOW} is given up: a fault here must not loop forever. */
  public static final int MAX_RESTARTS = 5;
  static final Duration RESTART_WINDOW = Duration.ofMinutes(1);

  /** The work (re)starts at {@code now}: how many restarts of the actor fall within the last {@code window}. */
  int restartsWithin(long now, Duration window) {
    if (started) {
      restarts.addLast(now);
      while (restarts.peekFirst() < now - window.toMillis()) {
        restarts.removeFirst();
      }
    }
    started = true;
    return restarts.size();
  }
}
