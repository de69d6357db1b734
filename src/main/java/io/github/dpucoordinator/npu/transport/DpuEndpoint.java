package io.github.dpucoordinator.npu.transport;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.CborSerializable;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the NPU reaches one DPU, and how: {@code protocol} is {@link #GNOI} (gnoi.system.System, what
 * SONiC DPUs serve) or {@link #REBOOT_SERVICE} (the seed's reboot.RebootService).
 */
public record DpuEndpoint(String id, String host, int port, String protocol) implements CborSerializable {
  public static final String GNOI = "gnoi";
  public static final String REBOOT_SERVICE = "reboot-service";
  private static final Pattern SPEC =
      Pattern.compile("([A-Za-z0-9_.-]+)=(\\[[0-9a-fA-F:]+\\]|[^:=\\s/]+):(\\d{1,5})(?:/([a-z-]+))?");

  public DpuEndpoint {
    if (id == null || id.isBlank()) {
      throw new IllegalArgumentException("a DPU needs an id");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("DPU " + id + ": port " + port + " is out of range 1-65535");
    }
    protocol = protocol == null ? GNOI : protocol; // events journaled before protocols existed
    if (!protocol.equals(GNOI) && !protocol.equals(REBOOT_SERVICE)) {
      throw new IllegalArgumentException("DPU " + id + ": protocol '" + protocol + "' is not gnoi or reboot-service");
    }
  }

  public DpuEndpoint(String id, String host, int port) {
    this(id, host, port, GNOI);
  }

  /**
   * Parses {@code ID=HOST:PORT[/PROTOCOL]}, e.g. {@code DPU0=127.0.0.1:50051},
   * {@code DPU1=[::1]:8080/gnoi} or {@code DPU2=127.0.0.1:50053/reboot-service}.
   */
  public static DpuEndpoint parse(String spec, String defaultProtocol) {
    Matcher m = SPEC.matcher(spec.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + spec + "' is not ID=HOST:PORT[/gnoi|/reboot-service] (for example DPU0=127.0.0.1:50051)");
    }
    String host = m.group(2).startsWith("[") ? m.group(2).substring(1, m.group(2).length() - 1) : m.group(2);
    return new DpuEndpoint(m.group(1), host, Integer.parseInt(m.group(3)), m.group(4) == null ? defaultProtocol : m.group(4));
  }

  public static DpuEndpoint parse(String spec) {
    return parse(spec, GNOI);
  }

  public DpuEndpoint withProtocol(String p) {
    return new DpuEndpoint(id, host, port, p);
  }

  /**
   * Reads {@code dpus} (a list of {id, host, port, protocol}) and {@code dpus-spec} (comma-separated
   * ID=HOST:PORT[/PROTOCOL]); a DPU without a protocol gets {@code default-protocol}.
   */
  public static List<DpuEndpoint> listFrom(Config c) {
    String defaultProtocol = c.getString("default-protocol");
    List<DpuEndpoint> all = new ArrayList<>();
    for (Config d : c.getConfigList("dpus")) {
      all.add(new DpuEndpoint(d.getString("id"), d.getString("host"), d.getInt("port"),
          d.hasPath("protocol") ? d.getString("protocol") : defaultProtocol));
    }
    for (String spec : c.getString("dpus-spec").split(",")) {
      if (!spec.isBlank()) {
        all.add(parse(spec, defaultProtocol));
      }
    }
    return all;
  }
}
