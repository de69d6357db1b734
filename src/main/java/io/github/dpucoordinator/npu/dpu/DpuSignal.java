package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.npu.dpu.DpuActor.Command;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport.Baseline;
import io.github.dpucoordinator.npu.transport.DpuTransport.State;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import io.github.dpucoordinator.npu.transport.DpuTransport.Disposition;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalReply;
import io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest;
import java.time.Duration;

/**
 * The reboot signal of one piece of a {@link DpuActor}'s work: attempts, each with its deadline and backoff with jitter
 * between them, up to the budget in {@link LinkMemory} (which outlives a restart of the actor); a DEFER honoured until
 * the DPU's time or the campaign's cap, then the signal forced; a refusal in a protective state asked again later, which
 * is not a failed attempt. {@link DpuWork} hears what an answer means through {@link Outcome}.
 */
final class DpuSignal {
  /** What the work does when the DPU took the signal, is in a protective state, or will not be reached. */
  interface Outcome {
    void acknowledged(int attempt, SignalReply reply);

    void protective(String state);

    void gaveUp(String reason);
  }

  /** Send attempt {@code attempt} (a timer's message). */
  record Send(long gen, int attempt) implements Command {}

  /** The DPU's answer to attempt {@code attempt}, or the failure to reach it. */
  record Answered(long gen, int attempt, SignalReply reply, Throwable failure) implements Command {}

  /** The DPU's reboot record read before attempt {@code attempt} (a protocol without campaign ids), or the failure to read it. */
  record Checked(long gen, int attempt, Baseline baseline, Throwable failure) implements Command {}

  /** The owner had not confirmed the baseline of attempt {@code attempt} in time. */
  record JournalTimeout(long gen, int attempt) implements Command {}

  private static final String JOURNAL_TIMER = "baseline-journal";

  private final DpuCore core;
  private final LinkMemory memory;
  private final LinkStart start;
  private final DpuEndpoint dpu;
  private final long generation;
  private final Outcome outcome;
  /** The signal to send: the work's, then forced once the deferral cap is reached. */
  private SignalRequest request;
  private boolean on;
  /** The attempt waiting for its baseline to be journaled (0: none). */
  private int awaitingJournal;

  DpuSignal(DpuCore core, LinkMemory memory, long generation, Outcome outcome) {
    this.core = core;
    this.memory = memory;
    this.start = memory.start;
    this.dpu = memory.endpoint;
    this.generation = generation;
    this.outcome = outcome;
    this.request = start.request();
  }

  /** Attempts are going on: no acknowledgment yet, budget left, not told to stop. */
  boolean active() {
    return on;
  }

  /** Starts (or starts again) with attempt {@code attempt}. */
  void start(int attempt) {
    on = true;
    send(attempt);
  }

  /** No more attempts; an answer still on the wire is ignored. */
  void stop() {
    on = false;
  }

  void onSend(Send s) {
    if (s.gen() == generation && on) {
      send(s.attempt());
    }
  }

  private void send(int attempt) {
    memory.attempts = attempt;
    if (core.transport.needsBaseline(dpu)) {
      // No signal that a restart of this service could not tell from one still to send: the reboot record first.
      core.ctx.pipeToSelf(core.transport.baseline(dpu, core.settings.signal().rpcTimeout()),
          (baseline, failure) -> new Checked(generation, attempt, baseline, failure));
      return;
    }
    transmit(attempt);
  }

  /**
   * The DPU's reboot record before an attempt. None journaled yet: it is, before anything is sent. Journaled, and it
   * moved since: an earlier signal got through (its answer lost, or sent before a restart of this service), so this
   * is its acknowledgment and nothing is sent again. Else the signal goes.
   */
  void onChecked(Checked c) {
    if (c.gen() != generation || !on) {
      return;
    }
    if (c.failure() != null) {
      failed(c.attempt(), c.failure());
      return;
    }
    if (memory.baseline == null) {
      memory.baseline = c.baseline();
      memory.evidence = memory.evidence.with(c.baseline());
    }
    if (!memory.baselineJournaled) {
      awaitingJournal = c.attempt();
      memory.report(new LinkReport.Baselined(memory.baseline));
      core.timers.startSingleTimer(JOURNAL_TIMER, new JournalTimeout(generation, c.attempt()), core.settings.signal().rpcTimeout());
      return;
    }
    if (c.baseline().movedSince(memory.baseline)) {
      core.ctx.getLog().info("[campaign={} dpu={}] the DPU's reboot record moved since the journaled baseline (count {} -> {}, "
          + "boot {} -> {}{}): an earlier signal got through; not signalling again", start.campaignId(), dpu.id(),
          memory.baseline.count(), c.baseline().count(), memory.baseline.bootId(), c.baseline().bootId(),
          c.baseline().active() ? ", rebooting now" : "");
      on = false;
      outcome.acknowledged(c.attempt(), new SignalReply(Disposition.IN_PROGRESS, start.campaignId(), State.SHUTDOWN, -1,
          "reboot record moved since the baseline: an earlier signal got through", 0, "", memory.baseline.count()));
      return;
    }
    transmit(c.attempt());
  }

  /** The owner journaled the baseline: the attempt waiting for it goes. */
  void onBaselineJournaled() {
    memory.baselineJournaled = true;
    if (awaitingJournal > 0 && on) {
      int attempt = awaitingJournal;
      awaitingJournal = 0;
      core.timers.cancel(JOURNAL_TIMER);
      transmit(attempt);
    }
  }

  void onJournalTimeout(JournalTimeout t) {
    if (t.gen() == generation && on && awaitingJournal == t.attempt()) {
      awaitingJournal = 0;
      if (!memory.baselineJournaled) { // the next attempt reads the record afresh: the DPU may have moved meanwhile
        memory.baseline = null;
        memory.evidence = DpuTransport.Evidence.NONE;
      }
      failed(t.attempt(), new IllegalStateException("the journal did not confirm the DPU's reboot record within "
          + core.settings.signal().rpcTimeout().toMillis() + " ms; nothing was sent"));
    }
  }

  private void transmit(int attempt) {
    core.ctx.getLog().info("[campaign={} dpu={}] sending reboot signal, attempt {}/{}", start.campaignId(), dpu.id(),
        attempt, core.settings.signal().maxAttempts());
    // No cap (a module transition: an operator's explicit request) or the cap reached: the DPU may not defer.
    if (!request.force() && core.clock.millis() >= start.deferCapAt()) {
      if (start.deferCapAt() > 0) {
        core.ctx.getLog().warn("[campaign={} dpu={}] deferral cap reached; signalling with force", start.campaignId(), dpu.id());
      }
      request = request.forced();
    }
    SignalRequest sent = request;
    core.ctx.pipeToSelf(core.transport.signal(dpu, sent, core.settings.signal().rpcTimeout()),
        (reply, failure) -> new Answered(generation, attempt, reply, failure));
  }

  void onAnswered(Answered answer) {
    if (answer.gen() != generation) {
      return;
    }
    int attempt = answer.attempt();
    if (!on) {
      return; // the deadline passed while this attempt was on the wire
    }
    if (answer.failure() == null && answer.reply().disposition() == Disposition.DEFERRED) {
      onDeferred(attempt, answer.reply());
      return;
    }
    if (answer.failure() == null && answer.reply().disposition() == Disposition.PROTECTIVE) {
      // Nothing started: the DPU must not be halted now. Ask again later; this is not a failed attempt.
      outcome.protective(answer.reply().ack());
      core.timers.startSingleTimer(new Send(generation, attempt), core.settings.negotiation().protectiveRecheck());
      return;
    }
    if (answer.failure() == null) {
      on = false;
      outcome.acknowledged(attempt, answer.reply());
      return;
    }
    failed(attempt, answer.failure());
  }

  /** Attempt {@code attempt} failed: another after a backoff, or (no attempts left, or asking again cannot help) give up. */
  private void failed(int attempt, Throwable failure) {
    String reason = Failures.describe(failure);
    boolean permanent = DpuTransport.Permanent.in(failure);
    if (attempt >= core.settings.signal().maxAttempts() || permanent) {
      core.ctx.getLog().error("[campaign={} dpu={}] giving up after {} attempt(s); last error: {}", start.campaignId(),
          dpu.id(), attempt, reason);
      memory.report(new LinkReport.AttemptFailed(attempt, reason));
      outcome.gaveUp((permanent ? "refused: " : "no acknowledgment after " + attempt + " attempt(s): ") + reason);
      return;
    }
    Duration pause = core.settings.signal().backoff(attempt, core.random.nextDouble());
    core.ctx.getLog().warn("[campaign={} dpu={}] attempt {} failed ({}); retrying in {} ms", start.campaignId(), dpu.id(),
        attempt, reason, pause.toMillis());
    // Armed before reporting: once the failure is journaled, the retry is already scheduled.
    core.timers.startSingleTimer(new Send(generation, attempt + 1), pause);
    memory.report(new LinkReport.AttemptFailed(attempt, reason));
  }

  /** DEFER: honoured until the DPU's time or the campaign's cap, whichever is first; then asked again. */
  private void onDeferred(int attempt, SignalReply reply) {
    long now = core.clock.millis();
    long cap = start.deferCapAt() > 0 ? start.deferCapAt() : now;
    long until = Math.min(Math.max(reply.deferUntil(), now), cap);
    core.ctx.getLog().info("[campaign={} dpu={}] deferred until {} ({}); asking again at {}{}", start.campaignId(), dpu.id(),
        java.time.Instant.ofEpochMilli(reply.deferUntil()), reply.deferReason(), java.time.Instant.ofEpochMilli(until),
        until < reply.deferUntil() ? " (the campaign's deferral cap)" : "");
    memory.report(new LinkReport.Deferred(reply.deferReason(), reply.deferUntil(), until));
    core.timers.startSingleTimer(new Send(generation, attempt), Duration.ofMillis(Math.max(0, until - now)));
  }
}
