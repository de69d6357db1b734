package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.common.Metrics;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/** The DPU agent's meters (tagged with the DPU's id: agents sharing a JVM share the process's registry). */
public final class AgentMetrics {
  private AgentMetrics() {}

  /** A reboot signal answered (either protocol), by disposition. */
  static void signal(String dpu, String disposition) {
    Metrics.counter("dpu.agent.signals", "Reboot signals this DPU answered, by disposition", "dpu", dpu, "disposition", disposition)
        .increment();
  }

  /** A shutdown (or a warm reboot's tenant cleanup) ended after {@code millis}, as this DPU measured it. */
  static void shutdown(String dpu, long millis, boolean degraded) {
    Timer.builder("dpu.agent.shutdown").description("This DPU's graceful shutdowns, from the signal's start to complete, as it measured them")
        .tags("dpu", dpu, "outcome", degraded ? "degraded" : "ok").register(Metrics.registry()).record(Duration.ofMillis(Math.max(0, millis)));
  }

  /** A gNOI RebootStatus call served. */
  public static void rebootStatus(String dpu) {
    Metrics.counter("dpu.agent.reboot.status.calls", "gNOI RebootStatus calls this DPU served", "dpu", dpu).increment();
  }
}
