package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.npu.journal.Histories;
import io.github.dpucoordinator.npu.dpu.DpuActor.Command;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport.Observation;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalReply;
import io.github.dpucoordinator.npu.transport.DpuTransport.State;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import java.time.Duration;
import java.util.Random;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A {@link DpuActor} doing a campaign's or a module transition's work. In {@link LinkStart.Mode#SHUTDOWN} it delivers
 * the reboot signal (per-attempt deadline, exponential backoff with jitter, a bounded number of attempts) and reports
 * when the DPU says this work's shutdown is complete. Either way it keeps following the DPU's state with long polls
 * until the work is released, so that after the reboot it can tell at once whether the DPU is Listening
 * ({@link DpuActor.AwaitReady}): an open long poll that has not returned means the state it last reported still holds.
 * {@link LinkStart.Mode#READY} starts there (after a restart of the NPU service, when nothing is known yet).
 *
 * <p>What is worth keeping goes to the work's owner as a {@link LinkReport}; what it learns meanwhile outlives a
 * restart of the actor ({@link LinkMemory}). Redelivering a signal is safe because the DPU deduplicates by work id.
 */
final class DpuWork extends DpuState {

  private record HaltTimeout(long gen) implements Command {}

  private static final String HALT_TIMER = "halt";

  private final TimerScheduler<Command> timers;
  private final DpuEndpoint dpu;
  private final LinkStart start;
  private final DpuTransport transport;
  private final NpuSettings settings;
  private final Random random;
  private final java.time.Clock clock;
  private final LinkMemory memory;
  private long knownVersion = -1;
  private String lastSeen = "";
  /** The signal's attempts, while they go on. */
  private final DpuSignal signal;
  /** A state query is on the wire or scheduled: the watch loop is running. */
  private boolean watching;
  /** The DPU's latest state while a long poll on it is open; null after a failed poll. */
  private Observation current;
  /** The protective state last reported to the work's owner. */
  private String protective = "";
  /** The halt timeout was stopped for a protective state; it starts afresh when the state ends. */
  private boolean haltHeld;
  /** The DPU's boot when it took the signal (the journaled baseline's, else the first seen after): "" not known. */
  private String bootAtSignal;
  /** When to poll a DPU without long polls (gNOI), planned from its recent halts. */
  private final PollSchedule schedule;
  private final boolean longPolls;

  DpuWork(DpuCore core, LinkMemory memory) {
    super(core);
    this.memory = memory;
    this.timers = core.timers;
    this.dpu = memory.endpoint;
    this.start = memory.start;
    this.transport = core.transport;
    this.settings = core.settings;
    this.random = core.random;
    this.clock = core.clock;
    this.bootAtSignal = memory.evidence.bootBefore();
    this.longPolls = transport.longPolls(dpu);
    this.schedule = new PollSchedule(settings.gnoi(), Histories.tail(start.recentHalts(), settings.gnoi().haltHistory()));
    signal = new DpuSignal(core, memory, generation, new DpuSignal.Outcome() {
      public void acknowledged(int attempt, SignalReply reply) {
        DpuWork.this.acknowledged(attempt, reply);
      }

      public void protective(String state) {
        DpuWork.this.protective(state);
      }

      public void gaveUp(String reason) {
        giveUp(reason);
      }
    });
    boolean mayAsk = start.mode() == LinkStart.Mode.SHUTDOWN && !memory.acknowledged && !memory.signallingStopped && !memory.resolved;
    if (mayAsk && memory.attempts >= settings.signal().maxAttempts()) {
      // restarted with every attempt used (the last one's answer was lost with the failed actor)
      giveUp("no acknowledgment after " + memory.attempts + " attempt(s) (the link restarted after a failure)");
    } else if (mayAsk) {
      signal.start(memory.attempts + 1);
    } else {
      if (start.mode() == LinkStart.Mode.SHUTDOWN && !memory.resolved && !memory.signallingStopped) {
        armHaltTimeout(false);
      }
      poll();
    }
  }

  @Override
  String workId() {
    return start.campaignId();
  }

  @Override
  public Receive<Command> createReceive() {
    return common()
        .onMessage(DpuSignal.Send.class, m -> {
          signal.onSend(m);
          return this;
        })
        .onMessage(DpuSignal.Answered.class, a -> {
          signal.onAnswered(a);
          return this;
        })
        .onMessage(DpuSignal.Checked.class, c -> {
          signal.onChecked(c);
          return this;
        })
        .onMessage(DpuSignal.JournalTimeout.class, t -> {
          signal.onJournalTimeout(t);
          return this;
        })
        .onMessage(Poll.class, p -> {
          if (p.gen() == generation) {
            poll();
          }
          return this;
        })
        .onMessage(Observed.class, o -> o.gen() == generation ? onObserved(o) : this)
        .onMessage(HaltTimeout.class, h -> h.gen() == generation ? onHaltTimeout() : this)
        .build();
  }

  @Override
  Behavior<Command> onBaselineJournaled() {
    signal.onBaselineJournaled();
    return this;
  }

  @Override
  Behavior<Command> onStopSignalling() {
    stopSignalling();
    return this;
  }

  /** The DPU took the signal: its shutdown is followed from here, within the halt timeout. */
  private void acknowledged(int attempt, SignalReply reply) {
    protective(""); // a DPU in a protective state refuses; one that accepts is in none
    getContext().getLog().info("[campaign={} dpu={}] acknowledged on attempt {}: {}", start.campaignId(), dpu.id(), attempt, reply.ack());
    // the earliest count known: a later attempt may read one a lost earlier attempt has already raised
    long before = memory.evidence.countBefore() >= 0 ? memory.evidence.countBefore() : reply.countBefore();
    memory.evidence = new DpuTransport.Evidence(before, false, memory.evidence.bootBefore());
    if (bootAtSignal.isEmpty()) {
      bootAtSignal = memory.evidence.bootBefore(); // the baseline read just before this signal, when there is one
    }
    memory.acknowledged = true;
    schedule.acknowledged(clock.millis());
    if (!longPolls) {
      getContext().getLog().debug("[campaign={} dpu={}] RebootStatus polls: {}", start.campaignId(), dpu.id(), schedule.describe());
    }
    report(new LinkReport.Acknowledged(attempt, reply));
    armHaltTimeout(false);
    // A reply in a state that is still changing is followed by a long poll from its version. In any other state
    // (a warm signal with no cleanup steps is already over, a halted DPU) waiting for a change would wait out
    // the whole state-wait: ask at once.
    State replied = reply.state();
    knownVersion = replied == State.SHUTDOWN || replied == State.SHUTDOWN_INITIATED ? reply.version() : -1;
    if (!watching) {
      poll();
    }
  }

  private void protective(String state) {
    if (!state.equals(protective)) {
      protective = state;
      if (state.isEmpty()) {
        getContext().getLog().info("[campaign={} dpu={}] protective state ended", start.campaignId(), dpu.id());
      } else {
        getContext().getLog().warn("[campaign={} dpu={}] in a protective state: {}; it will not be powered off or reset while it lasts",
            start.campaignId(), dpu.id(), state);
      }
      report(new LinkReport.ProtectiveChanged(state));
    }
  }

  private void poll() {
    watching = true;
    boolean halting = memory.acknowledged && !memory.resolved && start.mode() == LinkStart.Mode.SHUTDOWN;
    Duration wait = longPolls ? (knownVersion < 0 ? Duration.ZERO : settings.stateWait())
        : knownVersion < 0 && !(halting && schedule.planned()) ? Duration.ZERO : schedule.next(clock.millis(), !halting);
    getContext().pipeToSelf(transport.observe(dpu, start.campaignId(), memory.evidence, knownVersion, wait,
        wait.plus(settings.signal().rpcTimeout())), (o, f) -> new Observed(generation, o, f));
  }

  private Behavior<Command> onObserved(Observed observed) {
    if (observed.failure() != null) {
      seen("unreachable: " + Failures.describe(observed.failure()));
      current = null;
      knownVersion = -1;
      timers.startSingleTimer(new Poll(generation), settings.watchRetry());
      return this;
    }
    Observation o = observed.observation();
    current = o;
    if (!signal.active() && o.state() == State.SHUTDOWN) {
      memory.evidence = memory.evidence.seen(); // busy with the reboot since it was accepted
      schedule.active(clock.millis());
    }
    knownVersion = o.version();
    seen(o.state().name());
    boolean shuttingDown = start.mode() == LinkStart.Mode.SHUTDOWN && !memory.resolved;
    if (shuttingDown) {
      protective(o.protective());
      // A protective state set during the shutdown holds it: the halt timeout waits too (the campaign caps it).
      if (o.isProtective() && timers.isTimerActive(HALT_TIMER)) {
        timers.cancel(HALT_TIMER);
        haltHeld = true;
      } else if (!o.isProtective() && haltHeld) {
        haltHeld = false;
        armHaltTimeout(true);
      }
    }
    if (shuttingDown && !o.failure().isEmpty() && !signal.active()) {
      return onReportedFailure(o);
    }
    if (shuttingDown && o.completed(start.campaignId())) {
      memory.resolved = true;
      timers.cancel(HALT_TIMER);
      getContext().getLog().info("[campaign={} dpu={}] shutdown complete{}", start.campaignId(), dpu.id(),
          o.degraded() ? " (degraded: " + o.detail() + ")" : "");
      report(new LinkReport.Completed(o.degraded(), o.detail(), schedule.halt(clock.millis(), longPolls)));
    }
    if (shuttingDown && !memory.resolved && memory.acknowledged && !signal.active()) {
      restartedDuringShutdown(o);
    }
    if (memory.readyWanted && o.listening()) {
      return ready();
    }
    poll();
    return this;
  }

  /**
   * A DPU that took the signal and is Listening in a new boot without having said its shutdown completed restarted
   * in the middle of it (a crash, a power cycle): it is not lost, and not asked again (its new boot may be one this
   * campaign's own signal caused); the shutdown is recorded as degraded, without waiting out the halt timeout.
   */
  private void restartedDuringShutdown(Observation o) {
    if (bootAtSignal.isEmpty()) {
      bootAtSignal = o.bootId();
      return;
    }
    if (o.listening() && !o.bootId().isEmpty() && !o.bootId().equals(bootAtSignal)) {
      memory.resolved = true;
      timers.cancel(HALT_TIMER);
      String method = start.request() == null ? "" : start.request().method();
      if (method.equals("COLD") || method.equals("WARM")) { // a reboot was asked for: the new boot is its result
        getContext().getLog().info("[campaign={} dpu={}] rebooted ({}): boot {} -> {}", start.campaignId(), dpu.id(), method, bootAtSignal,
            o.bootId());
        report(new LinkReport.Completed(false, ""));
        return;
      }
      String detail = "restarted (boot " + bootAtSignal + " -> " + o.bootId() + ") before its shutdown was seen complete; not asked again";
      getContext().getLog().warn("[campaign={} dpu={}] {}", start.campaignId(), dpu.id(), detail);
      report(new LinkReport.Completed(true, detail));
    }
  }

  /** The DPU says its shutdown failed: ask again if it may help and attempts remain, else record it. */
  private Behavior<Command> onReportedFailure(Observation o) {
    if (o.retriable() && memory.attempts < settings.signal().maxAttempts()) {
      getContext().getLog().warn("[campaign={} dpu={}] {}; asking again", start.campaignId(), dpu.id(), o.failure());
      report(new LinkReport.AttemptFailed(memory.attempts, o.failure()));
      watching = false;
      memory.signalAgain();
      signal.start(memory.attempts + 1);
      return this;
    }
    getContext().getLog().error("[campaign={} dpu={}] {}", start.campaignId(), dpu.id(), o.failure());
    report(new LinkReport.AttemptFailed(memory.attempts, o.failure()));
    giveUp(o.failure());
    poll();
    return this;
  }

  private void armHaltTimeout(boolean afresh) {
    timers.startSingleTimer(HALT_TIMER, new HaltTimeout(generation), memory.haltLeft(clock.millis(), settings.haltTimeout(), afresh));
  }

  private Behavior<Command> onHaltTimeout() {
    if (!memory.resolved && start.mode() == LinkStart.Mode.SHUTDOWN) {
      String last = current != null ? current.state().name() : lastSeen;
      getContext().getLog().error("[campaign={} dpu={}] shutdown not complete within the halt timeout ({} ms); last seen: {}",
          start.campaignId(), dpu.id(), settings.haltTimeout().toMillis(), last);
      giveUp("shutdown not complete within the halt timeout (" + settings.haltTimeout().toMillis() + " ms); last seen: " + last);
    }
    return this;
  }

  /** Records that this DPU will not shut down gracefully, and keeps watching it: it may come back. */
  private void giveUp(String reason) {
    memory.resolved = true;
    signal.stop();
    timers.cancel(HALT_TIMER);
    report(new LinkReport.GaveUp(reason));
    if (!watching) {
      watching = true;
      timers.startSingleTimer(new Poll(generation), settings.watchRetry());
    }
  }

  /** No more attempts; watch the DPU from now on, even while an attempt is still on the wire. */
  private void stopSignalling() {
    signal.stop();
    memory.signallingStopped = true;
    if (!watching) {
      poll();
    }
  }

  @Override
  Behavior<Command> onAwaitReady(DpuActor.AwaitReady a) {
    memory.rebind(a.replyTo());
    stopSignalling();
    memory.readyWanted = true;
    return current != null && current.listening() ? ready() : this;
  }

  /** Listening after the reboot: reported, and this work is done. */
  private Behavior<Command> ready() {
    getContext().getLog().info("[campaign={} dpu={}] ready (Listening) after reboot", start.campaignId(), dpu.id());
    report(new LinkReport.Ready());
    return core.idle();
  }

  private void seen(String summary) {
    if (!summary.equals(lastSeen)) {
      lastSeen = summary;
      report(new LinkReport.Seen(summary));
    }
  }

  private void report(LinkReport report) {
    memory.report(report);
  }
}
