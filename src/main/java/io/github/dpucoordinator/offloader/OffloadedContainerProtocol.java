package io.github.dpucoordinator.offloader;

import org.apache.pekko.actor.typed.ActorRef;

/** What an {@link OffloadedContainer} is asked, and what it answers. */
public interface OffloadedContainerProtocol {
  public interface Command {}

  /** Its definition, from the configuration or a deploy (journaled when it changed). */
  public record Define(ContainerDef def) implements Command {}

  /** The initialization sequence: running at its version, else started; the answer is its one-line summary. */
  public record Ensure(String dpuVersion, ActorRef<String> replyTo) implements Command {}

  /** The version sync: upgraded (and rolled back if the new version fails) when the DPU's version asks for another tag. */
  public record Sync(String dpuVersion, ActorRef<SyncOutcome> replyTo) implements Command {}

  /** {@code result}: current, started, upgraded, rolled-back, failed, held, skipped, deferred (the NPU could not be reached). */
  public record SyncOutcome(String name, String result, String detail) {
    public boolean stopsTheRest() {
      return result.equals("rolled-back") || result.equals("failed") || result.equals("held") || result.equals("deferred");
    }
  }

  public record Reply(boolean ok, String message) {}

  public record OperatorStart(ActorRef<Reply> replyTo) implements Command {}

  public record OperatorStop(ActorRef<Reply> replyTo) implements Command {}

  public record OperatorRollback(ActorRef<Reply> replyTo) implements Command {}

  /** The DPU is shutting down or rebooting: no health checks (and no restarts) until resumed. */
  public record Pause(boolean paused) implements Command {}

  /** The last step of a DPU halt: stopped, to be started again by the initialization sequence. */
  public record HaltStop(ActorRef<Reply> replyTo) implements Command {}

  public record Get(ActorRef<View> replyTo) implements Command {}

  /** The recorded state with what the monitor last saw. */
  public record View(String name, ContainerBook book, String health, String detail, NpuContainerz.Seen seen, int restartsInWindow) {}
}
