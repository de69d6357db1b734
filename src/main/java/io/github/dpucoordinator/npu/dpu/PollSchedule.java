package io.github.dpucoordinator.npu.dpu;

import io.github.dpucoordinator.npu.settings.NpuSettings.GnoiSettings;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;

/**
 * When to ask a DPU without long polls (gNOI) for its RebootStatus again, within one shutdown. gNOI has no push, so
 * the completion is seen by polling; each poll costs the DPU a call. With the DPU's recent halt durations (journaled
 * with each completion), it waits out most of the expected time in one pause, polls densely ({@code floor} apart)
 * from shortly before the expected completion (the lead: the history's spread, at least {@code lead}) and backs off
 * (doubling up to {@code ceiling}) once that window has passed. Without history: polls from {@code 2 x floor}, each
 * gap 1.5x the last, up to {@code ceiling}. Never more than {@code maxCallsPerSecond} in any second, never a pause
 * longer than {@code sparseCeiling}. Times are the caller's clock (ms); the halt is timed from its acknowledgment.
 */
final class PollSchedule {
  private final GnoiSettings s;
  /** Expected halt duration (ms from the acknowledgment) and the half-width of the dense window; -1: no history. */
  private final long expected;
  private final long lead;
  private final ArrayDeque<Long> calls = new ArrayDeque<>();
  private long acknowledgedAt = -1;
  private long lastActive = -1;
  private long gap;

  PollSchedule(GnoiSettings s, List<Long> recentHalts) {
    this.s = s;
    List<Long> halts = recentHalts.stream().filter(h -> h >= 0).sorted().toList();
    if (halts.isEmpty()) {
      expected = -1;
      lead = 0;
    } else {
      expected = halts.get(halts.size() / 2);
      // the spread of the middle half: one odd halt does not widen the dense window for all the others
      long spread = halts.get(halts.size() * 3 / 4) - halts.get(halts.size() / 4);
      lead = Math.min(s.statusPollInterval().toMillis(), Math.max(s.pollLead().toMillis(), spread + s.pollFloor().toMillis()));
    }
  }

  /** There is a history to plan from and the acknowledgment's time is known (not after a restart of the service). */
  boolean planned() {
    return expected >= 0 && acknowledgedAt >= 0;
  }

  void acknowledged(long now) {
    if (acknowledgedAt < 0) {
      acknowledgedAt = now;
    }
  }

  /** A poll found the DPU still shutting down at {@code at}. */
  void active(long at) {
    lastActive = at;
  }

  /**
   * The halt's duration, completion seen at {@code doneAt}: from the acknowledgment to halfway between the last poll that
   * found it active and this one (it ended in between); to {@code doneAt} itself if a long poll told it at once
   * ({@code exact}) or no poll found it active since the acknowledgment (it ended before the first poll: the most it
   * took, so that a DPU that got quicker is learnt step by step); -1 if not known.
   */
  long halt(long doneAt, boolean exact) {
    if (acknowledgedAt < 0 || doneAt < acknowledgedAt) {
      return -1;
    }
    long from = exact || lastActive < acknowledgedAt ? doneAt : lastActive;
    return (from + doneAt) / 2 - acknowledgedAt;
  }

  /** The pause before the next poll, asked at {@code now}; {@code settled}: the shutdown is over (the DPU is followed). */
  Duration next(long now, boolean settled) {
    long pause = settled || acknowledgedAt < 0 ? s.statusPollInterval().toMillis() : shuttingDown(now - acknowledgedAt);
    long at = now + pause;
    // the cap: at most maxCallsPerSecond calls in any second
    while (!calls.isEmpty() && calls.peekFirst() <= at - 1_000) {
      calls.pollFirst();
    }
    if (calls.size() >= s.maxCallsPerSecond()) {
      at = Math.max(at, calls.peekFirst() + 1_000);
    }
    calls.addLast(at);
    return Duration.ofMillis(at - now);
  }

  private long shuttingDown(long elapsed) {
    long floor = s.pollFloor().toMillis();
    long ceiling = s.statusPollInterval().toMillis();
    if (expected < 0) { // no history: quick at first, then slower
      gap = gap == 0 ? 2 * floor : Math.min(ceiling, gap * 3 / 2);
      return gap;
    }
    long windowStart = expected - lead;
    long windowEnd = expected + lead;
    if (elapsed < windowStart) { // sparse: the rest of the way to the window in one pause, unless that is too long
      return Math.max(0, Math.min(windowStart - elapsed, Math.max(ceiling, s.sparseCeiling().toMillis())));
    }
    if (elapsed < windowEnd) {
      return floor;
    }
    gap = Math.min(ceiling, Math.max(2 * floor, gap * 2)); // late: back off
    return gap;
  }

  /** For the log: what this schedule expects. */
  String describe() {
    return expected < 0 ? "no halt history: polls from " + 2 * s.pollFloor().toMillis() + " ms, growing to " + s.statusPollInterval().toMillis() + " ms"
        : "expected halt " + expected + " ms, dense polls (" + s.pollFloor().toMillis() + " ms) within " + lead + " ms of it";
  }
}
