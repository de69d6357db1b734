package io.github.dpucoordinator.agent;

import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Which protocol last reached this agent from outside (gnoi or reboot-service) and when: an NPU that
 * speaks gNOI cannot be deferred (gNOI has no deferral), and `dpu-hold defer` says so.
 */
final class NpuContact {
  record Seen(String protocol, long atMillis) {}

  private final AtomicReference<Seen> last = new AtomicReference<>();
  private final Clock clock;

  NpuContact(Clock clock) {
    this.clock = clock;
  }

  void seen(String protocol) {
    last.set(new Seen(protocol, clock.millis()));
  }

  long now() {
    return clock.millis();
  }

  /** The last contact, or null if nobody has called yet. */
  Seen last() {
    return last.get();
  }
}
