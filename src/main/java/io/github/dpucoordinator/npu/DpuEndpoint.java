package io.github.dpucoordinator.npu;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.CborSerializable;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Where the NPU reaches one DPU. */
public record DpuEndpoint(String id, String host, int port) implements CborSerializable {
  private static final Pattern SPEC = Pattern.compile("([A-Za-z0-9_.-]+)=(\\[[0-9a-fA-F:]+\\]|[^:=\\s]+):(\\d{1,5})");

  public DpuEndpoint {
    if (id == null || id.isBlank()) {
      throw new IllegalArgumentException("a DPU needs an id");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("DPU " + id + ": port " + port + " is out of range 1-65535");
    }
  }

  /** Parses {@code ID=HOST:PORT}, e.g. {@code DPU0=127.0.0.1:50051} or {@code DPU1=[::1]:50052}. */
  public static DpuEndpoint parse(String spec) {
    Matcher m = SPEC.matcher(spec.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + spec + "' is not ID=HOST:PORT (for example DPU0=127.0.0.1:50051)");
    }
    String host = m.group(2).startsWith("[") ? m.group(2).substring(1, m.group(2).length() - 1) : m.group(2);
    return new DpuEndpoint(m.group(1), host, Integer.parseInt(m.group(3)));
  }

  /** Reads {@code dpus} (a list of {id, host, port}) and {@code dpus-spec} (comma-separated ID=HOST:PORT). */
  static List<DpuEndpoint> listFrom(Config c) {
    List<DpuEndpoint> all = new ArrayList<>();
    for (Config d : c.getConfigList("dpus")) {
      all.add(new DpuEndpoint(d.getString("id"), d.getString("host"), d.getInt("port")));
    }
    for (String spec : c.getString("dpus-spec").split(",")) {
      if (!spec.isBlank()) {
        all.add(parse(spec));
      }
    }
    return all;
  }
}
