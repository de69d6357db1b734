package io.github.dpucoordinator.common;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's meters, kept by Micrometer and exposed in Prometheus' text format at {@code http://HOST:PORT/metrics}
 * by a small pekko-http endpoint per configured address (the NPU service's {@code npu.metrics}, the agent's
 * {@code agent.metrics}). One registry per process: services sharing a JVM (the simulation, tests) share it, their meters
 * told apart by their tags, and an address already served in this process is not bound twice.
 */
public final class Metrics {
  private static final Logger log = LoggerFactory.getLogger(Metrics.class);
  private static final PrometheusMeterRegistry REGISTRY = create();
  private static final Map<String, CompletionStage<ServerBinding>> SERVED = new ConcurrentHashMap<>();
  private static final ContentType TEXT = ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8");

  /** The latency buckets of the histograms, from 5 ms (a completion seen at once) to 10 min (a whole campaign). */
  private static final Duration[] BUCKETS = {Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
      Duration.ofMillis(100), Duration.ofMillis(150), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60),
      Duration.ofMinutes(2), Duration.ofMinutes(5), Duration.ofMinutes(10)};

  /** Where a service serves its metrics: {@code enabled}, on {@code host}:{@code port} (0: any free port). */
  public record Endpoint(boolean enabled, String host, int port) {
    /** Read from {@code path} ({@code enabled}, {@code host}, {@code port}); a port out of range is refused naming the key. */
    public static Endpoint at(Config config, String path) {
      int port = config.getInt(path + ".port");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(path + ".port must be 0..65535, got " + port);
      }
      return new Endpoint(config.getBoolean(path + ".enabled"), config.getString(path + ".host"), port);
    }
  }

  private Metrics() {}

  private static final java.util.concurrent.atomic.AtomicBoolean JVM_BOUND = new java.util.concurrent.atomic.AtomicBoolean();

  private static PrometheusMeterRegistry create() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  /** The JVM's own meters, once per process, when an endpoint is first served: off a resuming service's way (0.1 s). */
  private static void bindJvm() {
    if (JVM_BOUND.compareAndSet(false, true)) {
      new JvmMemoryMetrics().bindTo(REGISTRY);
      new JvmGcMetrics().bindTo(REGISTRY);
      new JvmThreadMetrics().bindTo(REGISTRY);
      new ProcessorMetrics().bindTo(REGISTRY);
      new UptimeMetrics().bindTo(REGISTRY);
    }
  }

  public static PrometheusMeterRegistry registry() {
    return REGISTRY;
  }

  /** A latency histogram (Prometheus buckets from 5 ms to 10 min) named {@code name}, with tags as key, value pairs. */
  public static Timer timer(String name, String help, String... tags) {
    return Timer.builder(name).description(help).tags(tags).serviceLevelObjectives(BUCKETS).register(REGISTRY);
  }

  public static Counter counter(String name, String help, String... tags) {
    return Counter.builder(name).description(help).tags(tags).register(REGISTRY);
  }

  /**
   * Serves this process's metrics at {@code endpoint} until {@code system} terminates (its address is unbound then); not
   * at all if disabled. An address that cannot be bound (in use, say) is logged and the service goes on without it.
   */
  public static CompletionStage<String> serve(ActorSystem<?> system, Endpoint endpoint, String what) {
    if (!endpoint.enabled()) {
      return CompletableFuture.completedFuture("");
    }
    CompletableFuture.runAsync(Metrics::bindJvm, system.executionContext());
    String key = endpoint.host() + ":" + endpoint.port();
    CompletionStage<ServerBinding> bound = endpoint.port() != 0 ? SERVED.computeIfAbsent(key, k -> bind(system, endpoint, what))
        : bind(system, endpoint, what);
    return bound.handle((binding, failure) -> {
      if (failure != null) {
        SERVED.remove(key, bound);
        log.warn("[campaign=- dpu=all] {} metrics not served on {}: {}; the service goes on without them", what, key,
            Failures.describe(failure));
        return "";
      }
      String host = binding.localAddress().getHostString();
      String url = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + binding.localAddress().getPort() + "/metrics";
      log.info("[campaign=- dpu=all] {} metrics at {}", what, url);
      return url;
    });
  }

  private static CompletionStage<ServerBinding> bind(ActorSystem<?> system, Endpoint endpoint, String what) {
    CompletionStage<ServerBinding> binding = Http.get(system).newServerAt(endpoint.host(), endpoint.port()).bindSync(Metrics::answer);
    String key = endpoint.host() + ":" + endpoint.port();
    system.getWhenTerminated().thenRun(() -> binding.thenAccept(b -> {
      SERVED.remove(key, binding);
      b.unbind();
    }));
    return binding;
  }

  private static HttpResponse answer(HttpRequest request) {
    if (!request.getUri().path().equals("/metrics")) {
      return HttpResponse.create().withStatus(StatusCodes.NOT_FOUND).withEntity("metrics are at /metrics\n");
    }
    return HttpResponse.create().withEntity(TEXT, REGISTRY.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }
}
