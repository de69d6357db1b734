package io.github.dpucoordinator.npu.transport;

import com.typesafe.config.Config;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * Whether the NPU's connections to its DPUs stay open between campaigns ({@code off}, the default: warm, and the watch's
 * asks every {@code watch.interval} use them) or close after {@code dpu-coordinator.npu.connections.idle-timeout}
 * without a call (grpc-java's idle mode), so that a campaign opens them with its first signal. The benchmark measures
 * both (`dpuctl benchmark --fleet --cold-connections`).
 */
public record ChannelIdle(Optional<Duration> timeout) {
  public static final String KEY = "dpu-coordinator.npu.connections.idle-timeout";
  private static final Duration MIN = Duration.ofSeconds(1); // grpc-java takes nothing shorter
  /** Connections kept open (the default). */
  static final ChannelIdle KEPT = new ChannelIdle(Optional.empty());

  /**
   * The setting, refused when it cannot work: below 1 s, or with the watch on (its asks every {@code watch.interval}
   * would either keep every connection busy or open one for each ask).
   */
  public static ChannelIdle from(Config root) {
    if (root.getString(KEY).equals("off")) {
      return KEPT;
    }
    Duration timeout = root.getDuration(KEY);
    if (timeout.compareTo(MIN) < 0) {
      throw new IllegalArgumentException(KEY + " (" + timeout + ") must be off or at least 1s");
    }
    if (root.getBoolean("dpu-coordinator.npu.watch.enabled")) {
      throw new IllegalArgumentException(KEY + " (" + timeout + ") needs dpu-coordinator.npu.watch.enabled = false: the watch asks every "
          + "DPU every " + root.getDuration("dpu-coordinator.npu.watch.interval") + ", which would keep every connection busy or open one "
          + "for each ask");
    }
    return new ChannelIdle(Optional.of(timeout));
  }

  /** {@code settings} with this idle timeout on the channel (after whatever the settings already do to it, e.g. TLS). */
  GrpcClientSettings apply(GrpcClientSettings settings) {
    if (timeout.isEmpty()) {
      return settings;
    }
    long millis = timeout.get().toMillis();
    scala.Function1<NettyChannelBuilder, NettyChannelBuilder> before = settings.channelBuilderOverrides();
    scala.Function1<NettyChannelBuilder, NettyChannelBuilder> idle = b -> b.idleTimeout(millis, TimeUnit.MILLISECONDS);
    return settings.withChannelBuilderOverrides(before.andThen(idle));
  }
}
