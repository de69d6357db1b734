package io.github.dpucoordinator.common;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Creates the journal's tables if they do not exist, from the DDL that pekko-persistence-jdbc ships for the database
 * ({@code schema/<dialect>/<dialect>-create-schema.sql}), over plain JDBC: no test-kit class in production. A statement
 * whose object already exists is skipped; anything else fails the start with the database's message.
 */
public final class JournalSchema {
  private static final String DB = "pekko-persistence-jdbc.shared-databases.default.db.";
  /** SQLSTATEs of an object that exists already: H2's table and index, PostgreSQL's duplicate table (or index) and object. */
  private static final java.util.Set<String> ALREADY_THERE = java.util.Set.of("42S01", "42S11", "42P07", "42710");

  private JournalSchema() {}

  /** Runs on {@code blocking}: JDBC waits on the database. */
  public static CompletionStage<Void> createIfNotExists(Config config, Executor blocking) {
    return CompletableFuture.runAsync(() -> create(config), blocking);
  }

  /** The same, here and now. */
  public static void create(Config config) {
    String url = config.getString(DB + "url");
    String dialect = url.startsWith("jdbc:h2:") ? "h2" : url.startsWith("jdbc:postgresql:") ? "postgres" : null;
    if (dialect == null) {
      throw new IllegalStateException("no journal schema for " + url + " (H2 and PostgreSQL are supported): create the tables of "
          + "pekko-persistence-jdbc yourself, or use one of those");
    }
    String script = script("schema/" + dialect + "/" + dialect + "-create-schema.sql");
    try (Connection c = DriverManager.getConnection(url, config.getString(DB + "user"), config.getString(DB + "password"));
        Statement st = c.createStatement()) {
      for (String sql : script.split(";")) {
        if (sql.isBlank()) {
          continue;
        }
        try {
          st.execute(sql);
        } catch (SQLException e) {
          if (!ALREADY_THERE.contains(String.valueOf(e.getSQLState()))) {
            throw e;
          }
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create the journal's tables in " + url + ": " + e.getMessage(), e);
    }
  }

  private static String script(String resource) {
    try (InputStream in = JournalSchema.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("the journal schema " + resource + " is missing from the class path (pekko-persistence-jdbc)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + resource + ": " + e.getMessage(), e);
    }
  }
}
