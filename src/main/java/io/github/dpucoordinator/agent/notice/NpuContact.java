package io.github.dpucoordinator.agent.notice;

import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Which protocol last reached this agent from outside (gnoi or reboot-service) and when: an NPU that
 * speaks gNOI cannot be deferred (gNOI has no deferral), and `dpu-hold defer` says so.
 */
public final class NpuContact {
  public record Seen(String protocol, long atMillis) {}

  private final AtomicReference<Seen> last = new AtomicReference<>();
  private final Clock clock;

  public NpuContact(Clock clock) {
    this.clock = clock;
  }

  public void seen(String protocol) {
    last.set(new Seen(protocol, clock.millis()));
  }

  public long now() {
    return clock.millis();
  }

  /** The last contact, or null if nobody has called yet. */
  public Seen last() {
    return last.get();
  }
}
