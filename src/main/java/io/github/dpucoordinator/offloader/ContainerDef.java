package io.github.dpucoordinator.offloader;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.CborSerializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One offloaded container: what the offloader starts on the NPU for this DPU, as the instance {@code <dpu-id>-<name>}.
 *
 * @param versionPolicy {@code match-dpu} (the tag is the DPU's version) or a fixed tag
 * @param ports {@code internal[:external]}
 * @param restart the NPU's own restart policy for it (none by default: the offloader restarts it itself)
 * @param healthPort a TCP port on the NPU that must accept a connection when it is healthy; 0 for none
 */
public record ContainerDef(String name, String image, String versionPolicy, String cmd, Map<String, String> env, List<String> ports,
    Map<String, String> labels, String restart, int healthPort) implements CborSerializable {
  public static final String MATCH_DPU = "match-dpu";
  private static final Set<String> RESTARTS = Set.of("none", "always", "unless-stopped", "on-failure");

  public ContainerDef {
    env = Map.copyOf(env);
    ports = List.copyOf(ports);
    labels = Map.copyOf(labels);
  }

  /** The tag it should run when the DPU runs {@code dpuVersion}. */
  public String tagFor(String dpuVersion) {
    return versionPolicy.equals(MATCH_DPU) ? dpuVersion : versionPolicy;
  }

  public ContainerDef withImage(String image, String versionPolicy) {
    return new ContainerDef(name, image, versionPolicy, cmd, env, ports, labels, restart, healthPort);
  }

  /** Entry {@code i} of {@code key}; an entry that cannot work is an IllegalArgumentException naming it. */
  static ContainerDef from(Config c, String key, int i) {
    String where = key + "[" + i + "]";
    String name = c.getString("name");
    Map<String, String> env = new TreeMap<>();
    if (c.hasPath("env")) {
      c.getConfig("env").entrySet().forEach(e -> env.put(e.getKey(), String.valueOf(e.getValue().unwrapped())));
    }
    Map<String, String> labels = new TreeMap<>();
    if (c.hasPath("labels")) {
      c.getConfig("labels").entrySet().forEach(e -> labels.put(e.getKey(), String.valueOf(e.getValue().unwrapped())));
    }
    List<String> ports = c.hasPath("ports") ? new ArrayList<>(c.getStringList("ports")) : List.of();
    ContainerDef def = new ContainerDef(name, c.hasPath("image") ? c.getString("image") : "",
        c.hasPath("version-policy") ? c.getString("version-policy") : MATCH_DPU, c.hasPath("cmd") ? c.getString("cmd") : "", env, ports, labels,
        c.hasPath("restart") ? c.getString("restart") : "none", c.hasPath("health.port") ? c.getInt("health.port") : 0);
    def.check(where);
    return def;
  }

  /** Throws an IllegalArgumentException naming {@code where} and the field when this cannot work. */
  void check(String where) {
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")) {
      throw new IllegalArgumentException(where + ".name '" + name + "' is not a container name (letters, digits, '_', '.', '-')");
    }
    if (image.isBlank() || image.contains(":")) {
      throw new IllegalArgumentException(where + ".image must be an image name without a tag (the tag comes from version-policy), not '"
          + image + "'");
    }
    if (!versionPolicy.equals(MATCH_DPU) && !versionPolicy.matches("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")) {
      throw new IllegalArgumentException(where + ".version-policy must be match-dpu or a tag, not '" + versionPolicy + "'");
    }
    if (!RESTARTS.contains(restart)) {
      throw new IllegalArgumentException(where + ".restart must be one of none, always, unless-stopped, on-failure, not '" + restart + "'");
    }
    for (String p : ports) {
      if (!p.matches("[0-9]{1,5}(:[0-9]{1,5})?")) {
        throw new IllegalArgumentException(where + ".ports: '" + p + "' is not internal[:external]");
      }
    }
    if (healthPort < 0 || healthPort > 65535) {
      throw new IllegalArgumentException(where + ".health.port must be a port (or 0 for none), not " + healthPort);
    }
  }

  /** The labels it carries on the NPU: its own, plus dpu=<id> (which no label of its own may change). */
  public Map<String, String> labelsFor(String dpuId) {
    Map<String, String> all = new LinkedHashMap<>(labels);
    all.put("dpu", dpuId);
    all.put("offloaded-by", "dpu-offloader");
    return all;
  }
}
