package io.github.dpucoordinator.common;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Creates the journal's tables if they do not exist, from the DDL that pekko-persistence-jdbc ships for the database
 * ({@code schema/<dialect>/<dialect>-create-schema.sql}), over plain JDBC: no test-kit class in production. A statement
 * whose object already exists is skipped; anything else fails the start with the database's message. Before a service
 * recovers, {@link #prepare} also refuses a journal that names a class this build cannot read.
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

  /** The tables, here and now. */
  public static void create(Config config) {
    String script = schemaScript(config.getString(DB + "url"));
    onJournal(config, (st, url) -> create(st, script), CANNOT_CREATE);
  }

  /** What a service does before it recovers: the tables, then {@link #checkReadable}, on one connection. */
  public static CompletionStage<Void> prepare(Config config, Executor blocking) {
    return CompletableFuture.runAsync(() -> prepare(config), blocking);
  }

  /** The same, here and now. */
  public static void prepare(Config config) {
    String script = schemaScript(config.getString(DB + "url"));
    JournalMend.mend(config.getString(DB + "url"));
    onJournal(config, (st, url) -> {
      create(st, script);
      try {
        checkReadable(st, url, config.getConfig("pekko.serialization.jackson.migrations"));
      } catch (SQLException e) {
        throw new IllegalStateException("cannot read the journal in " + url + ": " + e.getMessage(), e);
      }
    }, CANNOT_CREATE);
  }

  private static final String CANNOT_CREATE = "cannot create the journal's tables in ";

  private interface JournalWork {
    void run(Statement st, String url) throws SQLException;
  }

  private static void onJournal(Config config, JournalWork work, String failure) {
    String url = config.getString(DB + "url");
    try (Connection c = DriverManager.getConnection(url, config.getString(DB + "user"), config.getString(DB + "password"));
        Statement st = c.createStatement()) {
      work.run(st, url);
    } catch (SQLException e) {
      throw new IllegalStateException(failure + url + ": " + e.getMessage(), e);
    }
  }

  /** The DDL for the database at {@code url}; refused before any connection when there is none for it. */
  private static String schemaScript(String url) {
    String dialect = url.startsWith("jdbc:h2:") ? "h2" : url.startsWith("jdbc:postgresql:") ? "postgres" : null;
    if (dialect == null) {
      throw new IllegalStateException("no journal schema for " + url + " (H2 and PostgreSQL are supported): create the tables of "
          + "pekko-persistence-jdbc yourself, or use one of those");
    }
    return script("schema/" + dialect + "/" + dialect + "-create-schema.sql");
  }

  private static void create(Statement st, String script) throws SQLException {
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
  }

  /**
   * Refuses a journal this build cannot read, before anything recovers from it: every class its events and snapshots
   * name (after the configured Jackson migrations, which read older names) must exist here. Otherwise the start
   * fails, naming the class and what to do, instead of a coordinator that fails its recovery over and over.
   */
  private static void checkReadable(Statement st, String url, Config migrations) throws SQLException {
    Set<String> manifests = new TreeSet<>();
    for (String sql : List.of("SELECT DISTINCT \"event_ser_manifest\" FROM \"event_journal\"",
        "SELECT DISTINCT \"snapshot_ser_manifest\" FROM \"snapshot\"")) {
      try (ResultSet rs = st.executeQuery(sql)) {
        while (rs.next()) {
          manifests.add(rs.getString(1));
        }
      }
    }
    for (String manifest : manifests) {
      String name = manifest.contains("#") ? manifest.substring(0, manifest.indexOf('#')) : manifest;
      if (!name.startsWith(OURS)) {
        continue; // not one of this project's classes: its serializer answers for it
      }
      try {
        Class.forName(migrated(migrations, name), false, JournalSchema.class.getClassLoader());
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
