package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What the {@link ModuleEntity} takes from the chassis and the campaign entity, beside the API's requests (so each is also
 * named {@code ModuleEntity.X}).
 */
public interface ModuleProtocol {
  /**
   * A cancelled campaign left this DPU halted: restart it (gNOI COLD) as transition {@code transitionId}, unless that
   * was done already (the campaign asks again after a restart of the service: a transition with that id, in flight or
   * in the DPU's history, means it was; anything else journaled for the DPU since {@code atMillis} makes it moot).
   */
  record Restart(String transitionId, DpuEndpoint dpu, String reason, long atMillis) implements Command {}

  /** Take over the modules of a journal written before the split (once; asked again, it only confirms). */
  record Adopt(Map<String, ModuleState> modules, ActorRef<Done> replyTo) implements Command {}

  /** The entity's state now, after every message before this one. */
  record GetBook(ActorRef<Book> replyTo) implements Command {}

  /** {@code lastSeen}: what each DPU in a transition last said; {@code journalEvents}: this entity's events so far. */
  record Book(ModuleBook book, Map<String, String> lastSeen, long journalEvents) {}
}
