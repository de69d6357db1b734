package io.github.dpucoordinator.npu.metrics;

import io.github.dpucoordinator.common.Metrics;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.CampaignCancelled;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.CampaignFinished;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.CampaignStarted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuAcknowledged;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.DpuShutdownCompleted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalsDispatched;
import io.github.dpucoordinator.npu.coordinator.Phase;
import io.github.dpucoordinator.npu.journal.JournalHealth;
import io.github.dpucoordinator.npu.module.ModuleEvent;
import io.github.dpucoordinator.npu.notice.NoticeEvent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The NPU service's meters, read off what its entities journal (so a figure is counted once, when the journal confirmed
 * it, and never again on recovery): campaign and phase durations, each DPU's acknowledgment and completion latency,
 * retries and failures by reason, module transitions, notices, and the journal's write latency. Times are the events' own
 * ({@code atMillis}); a campaign resumed after a restart has no start here, so its durations are not counted.
 */
public final class NpuMetrics implements JournalHealth.Watcher {
  private static final NpuMetrics INSTANCE = new NpuMetrics();

  /** When a campaign started and entered its phase. */
  private static final class Times {
    final long started;
    final String kind;
    Phase phase = Phase.PREPARE_FOR_REBOOT;
    long phaseSince;
    long dispatched = -1;

    Times(long started, String kind) {
      this.started = started;
      this.kind = kind;
      this.phaseSince = started;
    }
  }

  private final Map<String, Times> campaigns = new ConcurrentHashMap<>();
  private final Map<String, Long> modules = new ConcurrentHashMap<>();

  private NpuMetrics() {}

  public static NpuMetrics get() {
    return INSTANCE;
  }

  @Override
  public void written(String entity, List<?> events, long nanos) {
    if (events.isEmpty()) {
      return;
    }
    Class<?>[] kinds = events.get(0).getClass().getInterfaces();
    Metrics.timer("dpu.journal.write", "Time from asking the journal to write to its confirmation, per write (one or more events)",
        "events", kinds.length == 0 ? "other" : kinds[0].getSimpleName()).record(nanos, TimeUnit.NANOSECONDS);
    for (Object e : events) {
      if (e instanceof CampaignEvent c) {
        campaign(c);
      } else if (e instanceof ModuleEvent m) {
        module(m);
      } else if (e instanceof NoticeEvent n) {
        notice(n);
      }
    }
  }

  private void campaign(CampaignEvent e) {
    if (e instanceof CampaignStarted s) {
      campaigns.put(s.campaignId(), new Times(s.atMillis(), s.kind().label()));
      return;
    }
    Times t = campaigns.get(e.campaignId());
    long at = e.atMillis();
    if (e instanceof SignalsDispatched && t != null) {
      t.dispatched = at;
    } else if (e instanceof CampaignEvent.SignalAttemptFailed f) {
      Metrics.counter("dpu.signal.retries", "Signal attempts that failed and were tried again or given up, by reason", "reason",
          retryReason(f.reason())).increment();
    } else if (e instanceof DpuAcknowledged a && t != null && t.dispatched >= 0) {
      time("dpu.ack.latency", "Each DPU's acknowledgment: signals dispatched to the DPU's answer journaled", at - t.dispatched);
    } else if (e instanceof DpuShutdownCompleted d) {
      if (t != null && t.dispatched >= 0) {
        time("dpu.completion.latency", "Each DPU's shutdown: signals dispatched to its completion seen by the NPU and journaled",
            at - t.dispatched);
      }
      if (d.degraded()) {
        failure("degraded");
      }
    } else if (e instanceof CampaignEvent.DpuGaveUp) {
      failure("no-acknowledgment");
    } else if (e instanceof CampaignEvent.DpuEscalated x) {
      failure(x.reason().startsWith("shutdown not complete") ? "halt-timeout" : "escalated");
    } else if (e instanceof CampaignEvent.DpuNotReady) {
      failure("not-ready-after-reboot");
    }
    Phase next = entered(e);
    if (t != null && next != null && next != t.phase) {
      time("dpu.campaign.phase", "Time a campaign spent in each phase", at - t.phaseSince, "phase", t.phase.display());
      t.phase = next;
      t.phaseSince = at;
    }
    if (e instanceof CampaignFinished || e instanceof CampaignCancelled) {
      campaigns.remove(e.campaignId());
      if (t != null) {
        String outcome = e instanceof CampaignFinished f ? f.outcome() : "cancelled";
        time("dpu.campaign", "Whole campaigns, from start to Idle", at - t.started, "kind", t.kind, "outcome", outcome);
      }
    }
  }

  private static Phase entered(CampaignEvent e) {
    if (e instanceof CampaignEvent.PreRebootTasksDone) {
      return Phase.NOTIFY_DPUS;
    } else if (e instanceof SignalsDispatched) {
      return Phase.WAIT_FOR_ACKNOWLEDGMENTS;
    } else if (e instanceof CampaignEvent.AcknowledgmentsCollected) {
      return Phase.PROCEED_WITH_REBOOT;
    } else if (e instanceof CampaignEvent.AcknowledgmentsMissing) {
      return Phase.ERROR_LOGGING;
    } else if (e instanceof CampaignEvent.RebootIssued) {
      return Phase.REBOOT;
    } else if (e instanceof CampaignEvent.RebootReturned) {
      return Phase.POST_REBOOT;
    } else if (e instanceof CampaignFinished || e instanceof CampaignCancelled) {
      return Phase.IDLE;
    }
    return null;
  }

  private void module(ModuleEvent e) {
    if (e instanceof ModuleEvent.ModuleTransitionStarted s) {
      modules.put(s.campaignId(), s.atMillis());
      Metrics.counter("dpu.module.transitions.started", "Module transitions started (shutdown, startup, halt, cold, warm)",
          "kind", s.kind().label()).increment();
    } else if (e instanceof ModuleEvent.ModuleTransitionFinished f) {
      Long started = modules.remove(f.campaignId());
      Metrics.counter("dpu.module.transitions.finished", "Module transitions finished, by outcome", "outcome", f.outcome()).increment();
      if (started != null) {
        time("dpu.module.transition", "Module transitions, start to finish", f.atMillis() - started, "outcome", f.outcome());
      }
    }
  }

  private static void notice(NoticeEvent e) {
    if (e instanceof NoticeEvent.DpuRebootNoticed) {
      Metrics.counter("dpu.notices.received", "DPU-initiated reboot notices received (each round)").increment();
    } else if (e instanceof NoticeEvent.DpuRebootAnswered a && a.decision() != null) {
      Metrics.counter("dpu.notices.answered", "Answers to DPU reboot notices, by decision", "decision", a.decision().name()).increment();
    } else if (e instanceof NoticeEvent.DpuRebootFinished f) {
      Metrics.counter("dpu.notices.finished", "DPU-initiated reboots finished, by outcome", "outcome", f.outcome()).increment();
    }
  }

  private static void failure(String reason) {
    Metrics.counter("dpu.failures", "DPUs recorded as not shutting down or coming back as they should, by reason", "reason", reason)
        .increment();
  }

  private static void time(String name, String help, long millis, String... tags) {
    Metrics.timer(name, help, tags).record(Duration.ofMillis(Math.max(0, millis)));
  }

  /** A failed attempt's reason, as one of a few words (the full text is in the journal and the log). */
  static String retryReason(String reason) {
    String r = reason.toLowerCase(java.util.Locale.ROOT);
    if (r.contains("retriable")) {
      return "retriable-failure";
    } else if (r.contains("no answer within") || r.contains("deadline")) {
      return "timeout";
    } else if (r.contains("unavailable") || r.contains("unreachable") || r.contains("refused") || r.contains("closed")) {
      return "unreachable";
    } else if (r.contains("protective")) {
      return "protective";
    }
    return "other";
  }
}
