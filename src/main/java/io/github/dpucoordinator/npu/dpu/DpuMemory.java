package io.github.dpucoordinator.npu.dpu;

/**
 * What a {@link DpuActor} keeps across restarts of its own: the work in hand and what it learned doing it, the return
 * it follows, whether it watches while idle and what it saw last. Touched only from inside its actor.
 */
final class DpuMemory {
  /** The campaign's or transition's work in hand; null when none. */
  LinkMemory work;
  /** The DPU-initiated reboot followed; null when none. */
  DpuReturn.Memory returning;
  /** Outside campaigns: watch for changes nobody planned. */
  boolean watching;
  /** What the idle watch saw last; a fresh one is a new baseline. */
  DpuIdle.Seen seen = new DpuIdle.Seen();
  /** Counts the actor's states: a reply meant for an earlier one is recognised and dropped. */
  long generation;
}
