package io.github.dpucoordinator.common;

import com.typesafe.config.Config;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * Opens the journal once before the service starts, so that what stands in the way is said in one line at
 * once: an embedded H2 journal held by another process (the connection pool would otherwise retry for its
 * full timeout before saying so), or a database that cannot be opened. Only embedded H2 journals are checked.
 */
public final class JournalLock {
  private JournalLock() {}

  /** Throws IllegalStateException naming the file and the problem. */
  public static void check(Config config) {
    String url = config.getString(AppConfig.DB_URL_KEY);
    if (!url.startsWith("jdbc:h2:") || url.startsWith("jdbc:h2:mem:") || url.startsWith("jdbc:h2:tcp:")) {
      return;
    }
    String user = config.getString("pekko-persistence-jdbc.shared-databases.default.db.user");
    String password = config.getString("pekko-persistence-jdbc.shared-databases.default.db.password");
    String file = fileOf(url);
    JournalMend.mend(url);
    try (Connection ignored = DriverManager.getConnection(url, user, password)) {
      // opened and closed again: nobody else holds it
    } catch (SQLException e) {
      String message = String.valueOf(e.getMessage());
      if (message.contains("locked") || message.contains("already in use")) {
        throw new IllegalStateException("the journal " + file + " is in use by another process (is another `dpuctl npu` running on this data dir?)");
      }
      throw new IllegalStateException("cannot open the journal " + file + ".mv.db: " + message.replaceAll(" \\[[0-9-]+]$", ""));
    }
  }

  /** The database path of an H2 URL, without its {@code file:} or {@code fsync:} prefix and its settings. */
  static String fileOf(String url) {
    String rest = url.substring("jdbc:h2:".length());
    int semi = rest.indexOf(';');
    rest = semi >= 0 ? rest.substring(0, semi) : rest;
    int colon = rest.indexOf(':');
    return colon > 1 ? rest.substring(colon + 1) : rest;
  }
}
