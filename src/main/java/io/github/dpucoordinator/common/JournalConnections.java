package io.github.dpucoordinator.common;

import com.zaxxer.hikari.SQLExceptionOverride;
import java.sql.SQLException;

/**
 * How the journal's connection pool treats an error (HikariCP's {@code exceptionOverrideClassName}, set in
 * application.conf). The embedded H2 database closes itself when a write fails, e.g. on a full disk, and every pooled
 * connection then answers "The database has been closed" for ever: such a connection is evicted, so that the next one
 * opens the database again once it can be written, and the service goes on without a restart. Any other error is left
 * to HikariCP's own judgement.
 */
public final class JournalConnections implements SQLExceptionOverride {
  /** H2's DATABASE_IS_CLOSED and DATABASE_CALLED_AT_SHUTDOWN (org.h2.api.ErrorCode). */
  private static final int H2_CLOSED = 90098;
  private static final int H2_CLOSING = 90121;

  /** (Not annotated: the interface's own enum is called Override.) */
  public SQLExceptionOverride.Override adjudicate(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && (s.getErrorCode() == H2_CLOSED || s.getErrorCode() == H2_CLOSING)) {
        return SQLExceptionOverride.Override.MUST_EVICT;
      }
    }
    return SQLExceptionOverride.Override.CONTINUE_EVICT;
  }
}
