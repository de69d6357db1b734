package io.github.dpucoordinator.offloader;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.HostPort;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import io.github.dpucoordinator.common.tls.ClientTls;
import java.util.Optional;
import java.util.Set;

/** The {@code dpu-coordinator.offloader} section; settings that cannot work together are refused naming the keys. */
public record OffloaderSettings(String dpuId, String npuAddress, Path dataDir, String apiHost, int apiPort, Path versionFile,
    String configuredVersion, Optional<Path> imageDir, Duration callTimeout, Duration deployTimeout, int historyMax, boolean stopOnDpuHalt,
    Health health, Restart restart, Upgrade upgrade, List<ContainerDef> containers, ClientTls npuTls) {
  public static final String KEY = "dpu-coordinator.offloader";

  public record Health(Duration interval, int failureThreshold, Duration tcpTimeout) {}

  public record Restart(Duration initialDelay, Duration maxDelay, double jitter, Duration resetAfter, int maxRestarts, Duration window) {}

  public record Upgrade(Duration minHealthy, Duration deadline, List<String> order) {}

  public static OffloaderSettings of(Config root) {
    Config c = root.getConfig(KEY);
    Config h = c.getConfig("health");
    Config r = c.getConfig("restart");
    Config u = c.getConfig("upgrade");
    List<ContainerDef> containers = new ArrayList<>();
    var list = c.getConfigList("containers");
    for (int i = 0; i < list.size(); i++) {
      containers.add(ContainerDef.from(list.get(i), KEY + ".containers", i));
    }
    String image = c.getString("image-dir");
    OffloaderSettings s = new OffloaderSettings(c.getString("dpu-id"), c.getString("npu-address"), Path.of(c.getString("data-dir")),
        c.getString("api-host"), c.getInt("api-port"), Path.of(c.getString("version-file")), c.getString("dpu-version"),
        image.isBlank() ? Optional.empty() : Optional.of(Path.of(image)), c.getDuration("call-timeout"), c.getDuration("deploy-timeout"),
        c.getInt("history-max"), c.getBoolean("stop-on-dpu-halt"),
        new Health(h.getDuration("interval"), h.getInt("failure-threshold"), h.getDuration("tcp-timeout")),
        new Restart(r.getDuration("initial-delay"), r.getDuration("max-delay"), r.getDouble("jitter"), r.getDuration("reset-after"),
            r.getInt("max-restarts"), r.getDuration("window")),
        new Upgrade(u.getDuration("min-healthy"), u.getDuration("deadline"), u.getStringList("order")), containers,
        ClientTls.at(root, KEY + ".npu-tls"));
    s.check();
    return s;
  }

  /**
   * How long a start may take (the initialization's, an operator's): ListContainer, ListImage, a Deploy, StartContainer
   * and the journal (with slack), then the check after it.
   */
  public Duration startTimeout() {
    return callTimeout.multipliedBy(4).plus(deployTimeout).plus(health.interval());
  }

  /** How long stopping the containers for a DPU halt may take: StopContainer (with slack), then the check after it. */
  public Duration haltStopTimeout() {
    return callTimeout.multipliedBy(2).plus(health.interval());
  }

  public HostPort npu() {
    return HostPort.parse(npuAddress, KEY + ".npu-address");
  }

  private void check() {
    npu();
    if (!dpuId.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
      throw new IllegalArgumentException(KEY + ".dpu-id must be a DPU id, not '" + dpuId + "'");
    }
    positive("health.interval", health.interval());
    positive("health.tcp-timeout", health.tcpTimeout());
    positive("restart.initial-delay", restart.initialDelay());
    positive("restart.window", restart.window());
    positive("call-timeout", callTimeout);
    positive("deploy-timeout", deployTimeout);
    if (health.failureThreshold() < 1) {
      throw new IllegalArgumentException(KEY + ".health.failure-threshold must be at least 1");
    }
    if (health.tcpTimeout().compareTo(health.interval()) > 0) {
      throw new IllegalArgumentException(KEY + ".health.tcp-timeout (" + health.tcpTimeout().toMillis() + " ms) must not exceed "
          + KEY + ".health.interval (" + health.interval().toMillis() + " ms)");
    }
    if (restart.maxDelay().compareTo(restart.initialDelay()) < 0) {
      throw new IllegalArgumentException(KEY + ".restart.max-delay must be at least " + KEY + ".restart.initial-delay");
    }
    if (restart.jitter() < 0 || restart.jitter() >= 1) {
      throw new IllegalArgumentException(KEY + ".restart.jitter must be from 0 up to (not including) 1, not " + restart.jitter());
    }
    if (restart.maxRestarts() < 1) {
      throw new IllegalArgumentException(KEY + ".restart.max-restarts must be at least 1");
    }
    if (upgrade.minHealthy().compareTo(health.interval()) < 0) {
      throw new IllegalArgumentException(KEY + ".upgrade.min-healthy (" + upgrade.minHealthy().toMillis() + " ms) must be at least "
          + KEY + ".health.interval (" + health.interval().toMillis() + " ms): a new version is checked at that interval");
    }
    if (upgrade.deadline().compareTo(upgrade.minHealthy()) <= 0) {
      throw new IllegalArgumentException(KEY + ".upgrade.deadline (" + upgrade.deadline().toMillis() + " ms) must be longer than "
          + KEY + ".upgrade.min-healthy (" + upgrade.minHealthy().toMillis() + " ms)");
    }
    if (historyMax < 1) {
      throw new IllegalArgumentException(KEY + ".history-max must be at least 1");
    }
    Set<String> names = new HashSet<>();
    for (ContainerDef d : containers) {
      if (!names.add(d.name())) {
        throw new IllegalArgumentException(KEY + ".containers names '" + d.name() + "' twice");
      }
    }
    for (String o : upgrade.order()) {
      if (!names.contains(o)) {
        throw new IllegalArgumentException(KEY + ".upgrade.order names '" + o + "', which is not in " + KEY + ".containers");
      }
    }
  }

  private static void positive(String key, Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(KEY + "." + key + " must be a positive duration, not " + d.toMillis() + " ms");
    }
  }
}
