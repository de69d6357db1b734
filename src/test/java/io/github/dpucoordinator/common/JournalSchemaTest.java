package io.github.dpucoordinator.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal's tables are created from pekko-persistence-jdbc's own DDL, once, and a second start finds them. */
class JournalSchemaTest {

  @Test
  void createsTheTablesOnAFreshJournalAndLeavesAnExistingOneAsItIs(@TempDir Path dir) throws Exception {
    Config c = AppConfig.withDataDir(AppConfig.load(), dir);
    JournalSchema.create(c);
    JournalSchema.create(c); // again, on the journal that now exists
    Set<String> tables = new HashSet<>();
    try (Connection db = DriverManager.getConnection(AppConfig.h2Url(dir), "sa", "");
        ResultSet r = db.getMetaData().getTables(null, "PUBLIC", "%", new String[] {"TABLE"})) {
      while (r.next()) {
        tables.add(r.getString("TABLE_NAME"));
      }
    }
    assertTrue(tables.containsAll(Set.of("event_journal", "event_tag", "snapshot", "durable_state")), tables.toString());
  }

  @Test
  void aDatabaseWithoutASchemaScriptIsRefusedByName() {
    Config c = AppConfig.with(AppConfig.load(), AppConfig.DB_URL_KEY, "jdbc:sqlite:/tmp/none.db");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> JournalSchema.create(c));
    assertEquals("no journal schema for jdbc:sqlite:/tmp/none.db (H2 and PostgreSQL are supported): create the tables of "
        + "pekko-persistence-jdbc yourself, or use one of those", e.getMessage());
  }
}
