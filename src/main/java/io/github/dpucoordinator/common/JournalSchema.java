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

  /**
   * Refuses a journal this build cannot read, before anything recovers from it: every class its events and snapshots
   * name (after the configured Jackson migrations, which read older names) must exist here. Otherwise the start
   * fails, naming the class and what to do, instead of a coordinator that fails its recovery over and over.
   */
  public static CompletionStage<Void> checkReadable(Config config, Executor blocking) {
    return CompletableFuture.runAsync(() -> checkReadable(config), blocking);
  }

  /** The same, here and now. */
  public static void checkReadable(Config config) {
    String url = config.getString(DB + "url");
    java.util.Set<String> manifests = new java.util.TreeSet<>();
    try (Connection c = DriverManager.getConnection(url, config.getString(DB + "user"), config.getString(DB + "password"));
        Statement st = c.createStatement()) {
      for (String sql : java.util.List.of("SELECT DISTINCT \"event_ser_manifest\" FROM \"event_journal\"",
          "SELECT DISTINCT \"snapshot_ser_manifest\" FROM \"snapshot\"")) {
        try (java.sql.ResultSet rs = st.executeQuery(sql)) {
          while (rs.next()) {
            manifests.add(rs.getString(1));
          }
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the journal in " + url + ": " + e.getMessage(), e);
    }
    Config migrations = config.getConfig("pekko.serialization.jackson.migrations");
    for (String manifest : manifests) {
      String name = manifest.contains("#") ? manifest.substring(0, manifest.indexOf('#')) : manifest;
      if (!name.startsWith(OURS)) {
        continue; // not one of this project's classes: its serializer answers for it
      }
      String current = migrated(migrations, name);
      try {
        Class.forName(current, false, JournalSchema.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("the journal in " + url + " was written by another version of dpu-coordinator: it holds "
            + name + ", which this version cannot read. Start the version that wrote it, or move the data dir aside to start "
            + "afresh (its campaigns and history are then not shown here)");
      }
    }
  }

  private static final String OURS = "io.github.dpucoordinator.";

  /** The class a journaled name is read as: the configured migration's answer for it, else the name itself. */
  private static String migrated(Config migrations, String name) {
    String key = com.typesafe.config.ConfigUtil.joinPath(name);
    if (!migrations.hasPath(key)) {
      return name;
    }
    try {
      org.apache.pekko.serialization.jackson.JacksonMigration m = (org.apache.pekko.serialization.jackson.JacksonMigration)
          Class.forName(migrations.getString(key)).getDeclaredConstructor().newInstance();
      return m.transformClassName(1, name);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("pekko.serialization.jackson.migrations: cannot use " + migrations.getString(key) + " for "
          + name + ": " + e, e);
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
