package io.github.dpucoordinator.common;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Path;

/** Loads application.conf and applies the command line's overrides to the final keys. */
public final class AppConfig {
  private AppConfig() {}

  public static final String DB_URL_KEY = "pekko-persistence-jdbc.shared-databases.default.db.url";

  public static Config load() {
    return ConfigFactory.load();
  }

  /**
   * Points the NPU's data dir, and the journal's H2 file inside it, at {@code dataDir}. The URL key is
   * set directly because a resolved config does not re-run the substitution it was built from.
   */
  public static Config withDataDir(Config config, Path dataDir) {
    return config
        .withValue("dpu-coordinator.npu.data-dir", ConfigValueFactory.fromAnyRef(dataDir.toString()))
        .withValue(DB_URL_KEY, ConfigValueFactory.fromAnyRef(h2Url(dataDir)));
  }

  /** WRITE_DELAY=0: a committed event reaches the file at once, so a SIGKILL loses nothing journaled. */
  public static String h2Url(Path dataDir) {
    return "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("journal") + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
  }

  public static Config with(Config config, String key, Object value) {
    return config.withValue(key, ConfigValueFactory.fromAnyRef(value));
  }
}
