package io.github.dpucoordinator.npu.containerz;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * {@code dpu-coordinator.npu.containerz}: whether it is served, where images live, the limits of a Deploy, the runtime
 * containers run in and what a request may ask of it.
 */
public record ContainerzSettings(boolean enabled, Path root, long maxImageSize, int maxUploads, int chunkSize, Duration sameImageWait,
    Runtime runtime, Allow allow) {
  public static final String KEY = "dpu-coordinator.npu.containerz";
  /** gRPC's default largest message; a chunk and its framing must fit in it. */

  /**
   * The runtime: {@code process} or {@code docker}; the grace between SIGTERM and SIGKILL; each container's log bound;
   * restart backoff (first delay, cap, and how long a run must last for the delay to start again from the first); how
   * long an updated container must run to count as started; whom a container runs as when neither request nor image
   * says; the Docker daemon's address, and the network its containers join when a request names none.
   */
  public record Runtime(String kind, Duration stopGrace, long logMax, Duration backoffInitial, Duration backoffMax, Duration resetAfter,
      Duration startCheck, String defaultUser, String dockerHost, String dockerNetwork) {}

  /** What a request may ask for: running as root, capabilities and devices, named networks. */
  public record Allow(boolean runAsRoot, Set<String> capabilities, Set<String> devices, Set<String> networks) {}

  /** From {@code config}, under {@code dataDir}; refuses limits that cannot work, naming the key. */
  public static ContainerzSettings of(Config config, Path dataDir) {
    Config c = config.getConfig(KEY);
    Config r = c.getConfig("restart");
    Config a = c.getConfig("allow");
    Runtime runtime = new Runtime(c.getString("runtime"), c.getDuration("stop-grace"), c.getBytes("log-max"), r.getDuration("initial-delay"),
        r.getDuration("max-delay"), r.getDuration("reset-after"), c.getDuration("start-check"), c.getString("default-user"),
        c.getString("docker-host"), c.getString("docker-network"));
    Allow allow = new Allow(a.getBoolean("run-as-root"), Set.copyOf(a.getStringList("capabilities")), Set.copyOf(a.getStringList("devices")),
        Set.copyOf(a.getStringList("networks")));
    ContainerzSettings s = new ContainerzSettings(c.getBoolean("enabled"), dataDir.resolve("containerz"), c.getBytes("max-image-size"),
        c.getInt("max-uploads"), c.getBytes("chunk-size").intValue(), c.getDuration("same-image-wait"), runtime, allow);
    if (s.maxImageSize() < 1 || s.maxUploads() < 1) {
      throw new IllegalArgumentException(KEY + ".max-image-size and max-uploads must be at least 1");
    }
    long maxMessage = config.getBytes(io.github.dpucoordinator.common.GrpcMessageLimit.KEY);
    if (s.chunkSize() < 1024 || s.chunkSize() > maxMessage - 64 * 1024) {
      throw new IllegalArgumentException(KEY + ".chunk-size must be from 1 KiB to 64 KiB under " + io.github.dpucoordinator.common.GrpcMessageLimit.KEY
          + " (" + maxMessage + " bytes), not " + s.chunkSize() + " bytes");
    }
    if (!List.of("process", "docker").contains(runtime.kind())) {
      throw new IllegalArgumentException(KEY + ".runtime must be process or docker, not '" + runtime.kind() + "'");
    }
    if (runtime.backoffInitial().isNegative() || runtime.backoffInitial().isZero() || runtime.backoffMax().compareTo(runtime.backoffInitial()) < 0) {
      throw new IllegalArgumentException(KEY + ".restart.initial-delay must be positive and at most " + KEY + ".restart.max-delay");
    }
    if (runtime.logMax() < 4096) {
      throw new IllegalArgumentException(KEY + ".log-max must be at least 4 KiB");
    }
    if (!runtime.defaultUser().matches("[1-9][0-9]*(:[0-9]+)?")) {
      throw new IllegalArgumentException(KEY + ".default-user must be a uid other than 0, with an optional :gid, not '"
          + runtime.defaultUser() + "'");
    }
    return s;
  }
}
