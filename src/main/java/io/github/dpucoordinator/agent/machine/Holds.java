package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.common.UtcTime;
import java.time.Duration;
import java.util.Set;

/**
 * What holds a DPU back, as {@code dpuctl dpu-hold} sets it: a protective state (a firmware update or a
 * crash dump that a power-off or reset would ruin) and a deferral of host reboots. Immutable: the
 * {@link DpuAgent} owns the current value and runs the timers that clear it.
 *
 * @param protectiveUntil when the protective state clears itself (0 = when cleared)
 * @param deferUntil host reboots (RebootService) are answered DEFERRED until then (0 = not deferring)
 */
public record Holds(String protective, String protectiveReason, long protectiveSince, long protectiveUntil, long deferUntil,
    String deferReason) {

  public static final Holds NONE = new Holds("", "", 0, 0, 0, "");
  static final Set<String> PROTECTIVE = Set.of("firmware-update", "crash-dump");

  /** A SetHold's outcome: refused (holds unchanged, message says why) or accepted with the new holds. */
  public record Change(boolean accepted, String message, Holds holds) {}

  public boolean protectiveActive() {
    return !protective.isEmpty();
  }

  public boolean deferring(long now) {
    return deferUntil > now;
  }

  /** How a refusal names the protective state: {@code protective state firmware-update: <reason>}. */
  public String protectiveDescription() {
    return "protective state " + protective + ": " + protectiveReason;
  }

  Holds withoutProtective() {
    return new Holds("", "", 0, 0, deferUntil, deferReason);
  }

  Holds withoutDeferral() {
    return new Holds(protective, protectiveReason, protectiveSince, protectiveUntil, 0, "");
  }

  /** Applies {@code dpu-hold <hold>}; a protective state replaces another one, a deferral the previous deferral. */
  Change apply(String hold, String reason, long durationMs, long now, Duration maxDefer) {
    String why = reason == null || reason.isBlank() ? "operator request" : reason.strip();
    if (PROTECTIVE.contains(hold)) {
      if (durationMs < 0) {
        return refused("a protective state's duration must not be negative");
      }
      long since = hold.equals(protective) ? protectiveSince : now;
      long until = durationMs > 0 ? now + durationMs : 0;
      Holds next = new Holds(hold, why, since, until, deferUntil, deferReason);
      return new Change(true, "protective state " + hold + " (" + why + ") "
          + (until > 0 ? "until " + UtcTime.of(until) : "until cleared")
          + (protectiveActive() && !hold.equals(protective) ? "; replaces " + protective : ""), next);
    }
    switch (hold) {
      case "defer" -> {
        if (durationMs <= 0) {
          return refused("defer needs a positive duration (how long host reboots are deferred)");
        }
        long granted = Math.min(durationMs, maxDefer.toMillis());
        Holds next = new Holds(protective, protectiveReason, protectiveSince, protectiveUntil, now + granted, why);
        return new Change(true, "host reboots deferred until " + UtcTime.of(now + granted) + " (" + why + ")"
            + (granted < durationMs ? "; capped by dpu-coordinator.agent.max-defer (" + maxDefer.toSeconds() + " s)" : ""), next);
      }
      case "clear" -> {
        boolean any = protectiveActive() || deferring(now);
        return new Change(true, any ? "holds cleared" : "no holds to clear", NONE);
      }
      default -> {
        return refused("unknown hold '" + hold + "'; expected firmware-update, crash-dump, defer or clear");
      }
    }
  }

  private Change refused(String message) {
    return new Change(false, message, this);
  }
}
