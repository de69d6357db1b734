package io.github.dpucoordinator.common;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Path;
import java.util.Map;

/**
 * Loads application.conf (or the file {@code -Dconfig.file} names) and settles what depends on where the
 * service runs: the data dir becomes an absolute path, and an empty journal URL becomes the embedded H2
 * file inside it. Command-line overrides go through {@link #with} and {@link #withDataDir}.
 */
public final class AppConfig {
  private AppConfig() {}

  static {
    FsyncFilePath.register();
  }

  public static final String DB_URL_KEY = "pekko-persistence-jdbc.shared-databases.default.db.url";
  static final String DB_PROFILE_KEY = "pekko-persistence-jdbc.shared-databases.default.profile";
  static final String DB_DRIVER_KEY = "pekko-persistence-jdbc.shared-databases.default.db.driver";
  private static final String H2_PROFILE = "slick.jdbc.H2Profile$";
  public static final String DATA_DIR_KEY = "dpu-coordinator.npu.data-dir";

  /** A configuration that cannot be read or used, said in one line (the file, the line, the problem). */
  public static final class Invalid extends RuntimeException {
    public Invalid(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Throws {@link Invalid} when the configuration file is missing or is not valid HOCON. */
  public static Config load() {
    return settled(checked(ConfigFactory::load));
  }

  /**
   * The project's own settings only ({@code dpu-coordinator.*}, with the same file, environment and checks as {@link #load}),
   * without the libraries' defaults (reference.conf), which take a CLI call to a running service a tenth of a second to
   * read: for a process that starts no actor system.
   */
  public static Config loadOwn() {
    return checked(() -> ConfigFactory.defaultOverrides().withFallback(ConfigFactory.defaultApplication()).resolve());
  }

  private static Config checked(java.util.function.Supplier<Config> load) {
    String file = System.getProperty("config.file");
    if (file != null && !java.nio.file.Files.isRegularFile(Path.of(file))) {
      throw new Invalid("the configuration file " + file + " (DPUCTL_CONFIG or -Dconfig.file) does not exist or is not a file", null);
    }
    Config config;
    try {
      config = load.get();
    } catch (ConfigException e) {
      throw new Invalid("invalid configuration: " + describe(e), e);
    }
    KnownKeys.check(config);
    return config;
  }

  /**
   * A configuration problem in one line: Typesafe's message (file and line), and for a value that came from an
   * environment variable, that variable's name, which Typesafe's message does not give.
   */
  public static String describe(ConfigException e) {
    String message = String.valueOf(e.getMessage()).replace('\n', ' ');
    if (message.startsWith("env variables: ")) {
      String rest = message.substring("env variables: ".length());
      // Typesafe names the path relative to the section it was read from ('halt-timeout'): the variable is the one
      // set in this environment whose key ends with that path.
      java.util.regex.Matcher path = java.util.regex.Pattern.compile("'([\\w.-]+)'|^([\\w.-]+) has type").matcher(rest);
      String relative = path.find() ? (path.group(1) != null ? path.group(1) : path.group(2)) : "";
      java.util.List<Map.Entry<String, String>> set = KnownKeys.environmentOverrides().entrySet().stream()
          .filter(o -> !relative.isEmpty() && (o.getKey().equals(relative) || o.getKey().endsWith("." + relative)))
          .filter(o -> System.getenv(o.getValue()) != null).toList();
      // several set variables end in that path (…port): the one whose value the message quotes, or the one whose value is
      // not of the type it wants, else all of them
      java.util.List<Map.Entry<String, String>> quoted = set.stream().filter(o -> rest.contains("'" + System.getenv(o.getValue()) + "'")
          || (rest.contains("rather than NUMBER") && !System.getenv(o.getValue()).trim().matches("-?[0-9]+(\\.[0-9]+)?"))).toList();
      java.util.List<Map.Entry<String, String>> named = quoted.size() == 1 ? quoted : set;
      if (named.size() == 1) {
        return "environment variable " + named.get(0).getValue() + "=" + System.getenv(named.get(0).getValue()) + " (for "
            + named.get(0).getKey() + "): " + rest;
      }
      if (!named.isEmpty()) {
        return "one of the environment variables " + String.join(", ", named.stream().map(o -> o.getValue() + "="
            + System.getenv(o.getValue())).toList()) + ": " + rest;
      }
    }
    if (e instanceof ConfigException.Missing && System.getProperty("config.file") != null) {
      return message + " (does the file " + System.getProperty("config.file") + " start with include classpath(\"application.conf\")?)";
    }
    return message;
  }

  /** Absolute data dir; an empty journal URL becomes the embedded one under it. */
  static Config settled(Config config) {
    Path dataDir = Path.of(config.getString(DATA_DIR_KEY)).toAbsolutePath().normalize();
    Config c = config.withValue(DATA_DIR_KEY, ConfigValueFactory.fromAnyRef(dataDir.toString()));
    if (!c.hasPath(DB_URL_KEY) || c.getString(DB_URL_KEY).isBlank()) {
      c = c.withValue(DB_URL_KEY, ConfigValueFactory.fromAnyRef(h2Url(dataDir)));
    }
    return forJournalUrl(c);
  }

  /**
   * A PostgreSQL journal URL with the embedded journal's profile and driver still in place (only the URL was set,
   * e.g. by DPUCOORD_JOURNAL_URL): PostgreSQL's profile and driver. Settings that name their own are kept.
   */
  static Config forJournalUrl(Config c) {
    if (!c.hasPath(DB_URL_KEY) || !c.getString(DB_URL_KEY).startsWith("jdbc:postgresql:")) {
      return c;
    }
    if (c.getString(DB_PROFILE_KEY).equals(H2_PROFILE)) {
      c = c.withValue(DB_PROFILE_KEY, ConfigValueFactory.fromAnyRef("slick.jdbc.PostgresProfile$"));
    }
    if (c.getString(DB_DRIVER_KEY).equals("org.h2.Driver")) {
      c = c.withValue(DB_DRIVER_KEY, ConfigValueFactory.fromAnyRef("org.postgresql.Driver"));
    }
    return c;
  }

  /**
   * Points the NPU's data dir at {@code dataDir} (made absolute), and the journal with it when the journal is
   * the embedded one. The URL key is set directly because a resolved config does not re-run the substitution
   * it was built from.
   */
  public static Config withDataDir(Config config, Path dataDir) {
    Path absolute = dataDir.toAbsolutePath().normalize();
    boolean embedded = !config.hasPath(DB_URL_KEY) || config.getString(DB_URL_KEY).isBlank()
        || config.getString(DB_URL_KEY).equals(h2Url(Path.of(config.getString(DATA_DIR_KEY)).toAbsolutePath().normalize()));
    Config c = config.withValue(DATA_DIR_KEY, ConfigValueFactory.fromAnyRef(absolute.toString()));
    return embedded ? c.withValue(DB_URL_KEY, ConfigValueFactory.fromAnyRef(h2Url(absolute))) : c;
  }

  /**
   * The embedded journal: H2 in file mode through {@link FsyncFilePath}. {@code WRITE_DELAY=0}: each commit is
   * written by the committing thread before it returns (with H2's default delay a background thread writes
   * later); {@code fsync:} forces that write to stable storage.
   */
  public static String h2Url(Path dataDir) {
    return "jdbc:h2:" + FsyncFilePath.SCHEME + ":" + dataDir.toAbsolutePath().resolve("journal")
        + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
  }

  public static Config with(Config config, String key, Object value) {
    return config.withValue(key, ConfigValueFactory.fromAnyRef(value));
  }

  /** A list of names at {@code key}: a config list, or (as an environment variable gives it) one comma-separated string. */
  public static java.util.List<String> names(Config c, String key) {
    if (c.getValue(key).valueType() == com.typesafe.config.ConfigValueType.STRING) {
      return java.util.Arrays.stream(c.getString(key).split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }
    return c.getStringList(key);
  }

  /** {@code config} after the checks {@link #load()} makes (no unknown key under dpu-coordinator), settled as it settles it. */
  public static Config checked(Config config) {
    KnownKeys.check(config);
    return settled(config);
  }
}
