package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.common.Metrics;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/** The DPU agent's meters (tagged with the DPU's id: agents sharing a JVM share the process's registry). */
public final class AgentMetrics {
  /** When each DPU's last shutdown ended (epoch ms), behind its gauge. */
  private static final java.util.Map<String, java.util.concurrent.atomic.AtomicLong> LAST_END = new java.util.concurrent.ConcurrentHashMap<>();

  private AgentMetrics() {}

  private static final java.util.Map<String, Long> LAST_MILLIS = new java.util.concurrent.ConcurrentHashMap<>();

  /** How long {@code dpu}'s last graceful shutdown took as it measured it (ms; -1 none yet). */
  public static long lastShutdownMillis(String dpu) {
    return LAST_MILLIS.getOrDefault(dpu, -1L);
  }

  /** When {@code dpu}'s last graceful shutdown ended (epoch ms; 0 none yet). */
  public static long lastShutdownEnd(String dpu) {
    java.util.concurrent.atomic.AtomicLong at = LAST_END.get(dpu);
    return at == null ? 0 : at.get();
  }

  /** A reboot signal answered (either protocol), by disposition. */
  static void signal(String dpu, String disposition) {
    Metrics.counter("dpu.agent.signals", "Reboot signals this DPU answered, by disposition", "dpu", dpu, "disposition", disposition)
        .increment();
  }

  /** A shutdown (or a warm reboot's tenant cleanup) ended after {@code millis}, as this DPU measured it. */
  static void shutdown(String dpu, long millis, boolean degraded) {
    Timer.builder("dpu.agent.shutdown").description("This DPU's graceful shutdowns, from the signal's start to complete, as it measured them")
        .tags("dpu", dpu, "outcome", degraded ? "degraded" : "ok").register(Metrics.registry()).record(Duration.ofMillis(Math.max(0, millis)));
    LAST_MILLIS.put(dpu, millis);
    LAST_END.computeIfAbsent(dpu, d -> Metrics.registry().gauge("dpu.agent.shutdown.last.end.seconds", io.micrometer.core.instrument.Tags.of("dpu", d),
        new java.util.concurrent.atomic.AtomicLong(), a -> a.get() / 1000.0)).set(System.currentTimeMillis());
  }

  /** A gNOI RebootStatus call served. */
  public static void rebootStatus(String dpu) {
    Metrics.counter("dpu.agent.reboot.status.calls", "gNOI RebootStatus calls this DPU served", "dpu", dpu).increment();
  }
}
