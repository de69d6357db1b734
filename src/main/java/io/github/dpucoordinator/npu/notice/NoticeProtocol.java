package io.github.dpucoordinator.npu.notice;

import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.NoticeReceived;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What the {@link NoticeEntity} takes from the chassis, beside the API's requests (so each is also named
 * {@code NoticeEntity.X}).
 */
public interface NoticeProtocol {
  /**
   * A notice, with why the DPU should wait because the NPU itself is working on it ({@code busy}; null: it is not);
   * {@code admitted} hears once the notice is journaled or refused.
   */
  record Announce(NoticeReceived notice, String busy, ActorRef<Done> admitted) implements Command {}

  /** The chassis found that nothing planned explains this change of the DPU ({@code what}): it goes into its history. */
  record Unplanned(String dpuId, String what, String detail) implements Command {}

  /** Take over the notices of a journal written before the split (once; asked again, it only confirms). */
  record Adopt(Map<String, Notice> notices, ActorRef<Done> replyTo) implements Command {}

  /** The entity's state now, after every message before this one. */
  record GetBook(ActorRef<Book> replyTo) implements Command {}

  record Book(NoticeBook book, long journalEvents) {}
}
