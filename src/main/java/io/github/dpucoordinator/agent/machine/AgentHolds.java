package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.UtcTime;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;

/**
 * The agent's holds ({@link Holds}: a protective state, a deferral of host reboots), set by {@code dpu-hold} and
 * ended when cleared or when their time is up. Every change is told to the agent, which makes it a new state version
 * and resumes a shutdown that a protective state held.
 */
final class AgentHolds {
  /** {@code until} tells the expiry of the current hold from one that was replaced since. */
  record ProtectiveExpired(long until) implements DpuAgentProtocol.Command {}

  record DeferralExpired(long until) implements DpuAgentProtocol.Command {}

  private final TimerScheduler<DpuAgentProtocol.Command> timers;
  private final AgentSettings settings;
  private final Clock clock;
  private final Logger log;
  /** The campaign a hold line is about. */
  private final Supplier<String> campaign;
  private final Runnable changed;
  private Holds holds = Holds.NONE;

  AgentHolds(TimerScheduler<DpuAgentProtocol.Command> timers, AgentSettings settings, Clock clock, Logger log, Supplier<String> campaign,
      Runnable changed) {
    this.timers = timers;
    this.settings = settings;
    this.clock = clock;
    this.log = log;
    this.campaign = campaign;
    this.changed = changed;
  }

  Holds current() {
    return holds;
  }

  /** How the holds answer a signal instead of the state machine: the disposition, the ack's text and its details. */
  record Answer(Disposition disposition, String text, long deferUntil, String detail) {}

  /** A protective state refuses every reboot: nothing starts, the NPU asks again. Null when none holds. */
  Answer protectiveRefusal(DpuAgentProtocol.Signal signal) {
    if (!holds.protectiveActive()) {
      return null;
    }
    // A DPU must not be halted or reset during a firmware update or crash dump.
    log.warn("[campaign={} dpu={}] {} refused: {}", signal.campaignId().isEmpty() ? "-" : signal.campaignId(), settings.dpuId(),
        signal.fromGnoi() ? "gNOI Reboot " + signal.method() : "reboot signal", holds.protectiveDescription());
    return new Answer(Disposition.REFUSED, holds.protectiveDescription(), 0, holds.protectiveDescription());
  }

  /** A deferral answers a host reboot signal DEFERRED, unless the signal is forced. Null when it lets the signal through. */
  Answer deferral(DpuAgentProtocol.Signal signal) {
    long now = clock.millis();
    if (!signal.hostReboot() || !holds.deferring(now)) {
      return null;
    }
    String id = signal.campaignId().isEmpty() ? "-" : signal.campaignId();
    if (signal.force()) {
      log.warn("[campaign={} dpu={}] host reboot signal is forced: deferral until {} ({}) ignored", id, settings.dpuId(),
          UtcTime.of(holds.deferUntil()), holds.deferReason());
      return null;
    }
    log.info("[campaign={} dpu={}] host reboot signal answered DEFERRED until {} ({})", id, settings.dpuId(),
        UtcTime.of(holds.deferUntil()), holds.deferReason());
    return new Answer(Disposition.DEFERRED, "deferred until " + UtcTime.of(holds.deferUntil()) + ": " + holds.deferReason(),
        holds.deferUntil(), holds.deferReason());
  }

  void onSet(DpuAgentProtocol.SetHold set) {
    Holds.Change change = holds.apply(set.hold(), set.reason(), set.durationMs(), clock.millis(), settings.maxDefer());
    if (!change.accepted()) {
      log.warn("[campaign={} dpu={}] hold '{}' refused: {}", campaign.get(), settings.dpuId(), set.hold(), change.message());
      set.replyTo().tell(change);
      return;
    }
    log.info("[campaign={} dpu={}] hold: {}", campaign.get(), settings.dpuId(), change.message());
    replace(change.holds());
    set.replyTo().tell(change);
  }

  void onProtectiveExpired(ProtectiveExpired expired) {
    if (holds.protectiveActive() && holds.protectiveUntil() == expired.until()) {
      log.info("[campaign={} dpu={}] {} ended (its duration passed)", campaign.get(), settings.dpuId(), holds.protectiveDescription());
      replace(holds.withoutProtective());
    }
  }

  void onDeferralExpired(DeferralExpired expired) {
    if (holds.deferUntil() == expired.until()) {
      log.info("[campaign={} dpu={}] deferral of host reboots ended", campaign.get(), settings.dpuId());
      replace(holds.withoutDeferral());
    }
  }

  private void replace(Holds next) {
    holds = next;
    timers.cancel("protective-expiry");
    timers.cancel("deferral-expiry");
    long now = clock.millis();
    if (holds.protectiveUntil() > 0) {
      timers.startSingleTimer("protective-expiry", new ProtectiveExpired(holds.protectiveUntil()),
          Duration.ofMillis(Math.max(0, holds.protectiveUntil() - now)));
    }
    if (holds.deferUntil() > 0) {
      timers.startSingleTimer("deferral-expiry", new DeferralExpired(holds.deferUntil()), Duration.ofMillis(Math.max(0, holds.deferUntil() - now)));
    }
    changed.run();
  }
}
