package io.github.dpucoordinator.common;

import com.typesafe.config.Config;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * Fails fast when an embedded H2 journal is held by another process (the connection pool would
 * otherwise retry for its full timeout before saying so). Other databases are not checked.
 */
public final class JournalLock {
  private JournalLock() {}

  /** Throws IllegalStateException naming the file when the H2 journal is locked by another process. */
  public static void check(Config config) {
    String url = config.getString(AppConfig.DB_URL_KEY);
    if (!url.startsWith("jdbc:h2:file:")) {
      return;
    }
    String user = config.getString("pekko-persistence-jdbc.shared-databases.default.db.user");
    String password = config.getString("pekko-persistence-jdbc.shared-databases.default.db.password");
    try (Connection ignored = DriverManager.getConnection(url, user, password)) {
      // opened and closed again: nobody else holds it
    } catch (SQLException e) {
      String message = String.valueOf(e.getMessage());
      if (message.contains("locked") || message.contains("already in use")) {
        throw new IllegalStateException("the journal " + url.substring("jdbc:h2:file:".length(), url.indexOf(';'))
            + " is in use by another process (is another `dpuctl npu` running on this data dir?)");
      }
      throw new IllegalStateException("cannot open the journal " + url + ": " + message);
    }
  }
}
