package io.github.dpucoordinator.npu.transport;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.tls.ClientTls;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * How the NPU reaches each DPU: {@code npu.dpu-tls} for all, a DPU's own {@code tls} block in {@code npu.dpus} over it
 * (its keys win, the others come from the default), and whether idle connections are closed ({@code npu.connections}).
 * Checked at start, naming the key.
 */
public final class DpuTls {
  public static final String KEY = "dpu-coordinator.npu.dpu-tls";
  private final ClientTls fallback;
  private final Map<String, ClientTls> perDpu;
  private final ChannelIdle idle;

  private DpuTls(ClientTls fallback, Map<String, ClientTls> perDpu, ChannelIdle idle) {
    this.fallback = fallback;
    this.perDpu = Map.copyOf(perDpu);
    this.idle = idle;
  }

  public static DpuTls plaintext() {
    return new DpuTls(ClientTls.plaintext(), Map.of(), ChannelIdle.KEPT);
  }

  public static DpuTls from(Config root) {
    Config tls = root.getConfig("dpu-coordinator.tls");
    Config defaults = root.getConfig(KEY);
    Map<String, ClientTls> own = new LinkedHashMap<>();
    for (Config d : root.getConfigList("dpu-coordinator.npu.dpus")) {
      if (d.hasPath("tls")) {
        String id = d.getString("id");
        own.put(id, ClientTls.from(d.getConfig("tls").withFallback(defaults), "dpu-coordinator.npu.dpus[id=" + id + "].tls", tls));
      }
    }
    return new DpuTls(ClientTls.from(defaults, KEY, tls), own, ChannelIdle.from(root));
  }

  /** The transport security to DPU {@code id}. */
  public ClientTls of(String id) {
    return perDpu.getOrDefault(id, fallback);
  }

  /**
   * A client's settings to {@code dpu}: its address, {@code deadline} on every call, its transport security and whether
   * an idle connection is closed ({@link ChannelIdle}).
   */
  GrpcClientSettings client(ActorSystem<?> system, DpuEndpoint dpu, Duration deadline) {
    return idle.apply(of(dpu.id()).apply(GrpcClientSettings.connectToServiceAt(dpu.host(), dpu.port(), system)
        .withDeadline(deadline), dpu.host()));
  }
}
