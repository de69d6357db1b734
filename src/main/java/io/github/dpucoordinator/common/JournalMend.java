package io.github.dpucoordinator.common;

import java.nio.file.Files;
import java.nio.file.Path;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure an embedded H2 journal left by a killed process is opened at its newest commit. H2's MVStore (2.x) can
 * lose its last commits to a crash although they are on disk: when a chunk is written into reused space away from the
 * place the previous chunk predicted, the store header written with it still names the previous chunk, and the quick
 * recovery of the next open follows the prediction, finds a chunk it does not expect and stops there. Up to about 20
 * commits (until the header is next rewritten) are then silently not recovered; the SIGKILL soak test lost 3 to 9 that
 * way. Opening the file once in MVStore's recovery mode scans every chunk instead and takes the newest complete set;
 * closing it writes a header naming that chunk, so the database opens normally afterwards with everything.
 *
 * <p>Done before the first connection of a process, once per file: the start path reaches it from the lock check and
 * from the schema's preparation, and after the first the file has been closed cleanly. A journal held by another
 * process, or not there, is left alone.
 */
public final class JournalMend {
  private static final Logger log = LoggerFactory.getLogger(JournalMend.class);

  private static final java.util.Set<Path> MENDED = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private JournalMend() {}

  /** Mends the journal of {@code url} if it is an embedded H2 file journal that exists. */
  public static void mend(String url) {
    if (!url.startsWith("jdbc:h2:") || url.startsWith("jdbc:h2:mem:") || url.startsWith("jdbc:h2:tcp:") || url.startsWith("jdbc:h2:ssl:")) {
      return;
    }
    Path file = Path.of(JournalLock.fileOf(url) + ".mv.db");
    if (!Files.isRegularFile(file) || !MENDED.add(file.toAbsolutePath().normalize())) {
      return;
    }
    FsyncFilePath.register();
    long started = System.nanoTime();
    try (MVStore store = new MVStore.Builder().fileName(FsyncFilePath.SCHEME + ":" + file.toAbsolutePath()).recoveryMode().open()) {
      log.debug("journal {}: opened at version {} after a scan of every chunk ({} ms)", file, store.getCurrentVersion(),
          (System.nanoTime() - started) / 1_000_000);
    } catch (RuntimeException e) {
      log.debug("journal {}: not mended ({}); opened as it is", file, e.getMessage());
    }
  }
}
