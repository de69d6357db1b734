package io.github.dpucoordinator.npu.containerz;

import com.typesafe.config.Config;
import java.nio.file.Path;

/** {@code dpu-coordinator.npu.containerz}: whether it is served, where images live, and the limits of a Deploy. */
public record ContainerzSettings(boolean enabled, Path root, long maxImageSize, int maxUploads, int chunkSize) {
  private static final String KEY = "dpu-coordinator.npu.containerz";
  /** gRPC's default largest message; a chunk and its framing must fit in it. */
  private static final int GRPC_MAX_MESSAGE = 4 * 1024 * 1024;

  /** From {@code config}, under {@code dataDir}; refuses limits that cannot work, naming the key. */
  public static ContainerzSettings of(Config config, Path dataDir) {
    Config c = config.getConfig(KEY);
    ContainerzSettings s = new ContainerzSettings(c.getBoolean("enabled"), dataDir.resolve("containerz"), c.getBytes("max-image-size"),
        c.getInt("max-uploads"), c.getBytes("chunk-size").intValue());
    if (s.maxImageSize() < 1 || s.maxUploads() < 1) {
      throw new IllegalArgumentException(KEY + ".max-image-size and max-uploads must be at least 1");
    }
    if (s.chunkSize() < 1024 || s.chunkSize() > GRPC_MAX_MESSAGE - 64 * 1024) {
      throw new IllegalArgumentException(KEY + ".chunk-size must be from 1 KiB to 64 KiB under gRPC's 4 MiB message limit, not "
          + s.chunkSize() + " bytes");
    }
    return s;
  }
}
