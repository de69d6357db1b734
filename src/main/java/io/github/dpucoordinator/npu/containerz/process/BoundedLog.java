package io.github.dpucoordinator.npu.containerz.process;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A container's log (its stdout and stderr, merged) kept within about {@code max} bytes: written to {@code log}, which
 * becomes {@code log.1} (replacing the older one) once it holds half of {@code max}. What Log serves is {@code log.1}
 * then {@code log}. One writer at a time (the pump of the container's current run).
 */
final class BoundedLog {
  private final Path current;
  private final Path previous;
  private final long half;

  BoundedLog(Path dir, long max) {
    this.current = dir.resolve("log");
    this.previous = dir.resolve("log.1");
    this.half = Math.max(1, max / 2);
  }

  Path current() {
    return current;
  }

  Path previous() {
    return previous;
  }

  /** Copies {@code in} into the log until its end, turning the file over at half the bound; on the caller's thread. */
  void pump(InputStream in) throws IOException {
    byte[] buffer = new byte[8192];
    OutputStream out = open();
    long size = Files.exists(current) ? Files.size(current) : 0;
    try {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        out.write(buffer, 0, n);
        out.flush();
        size += n;
        if (size >= half) {
          out.close();
          Files.move(current, previous, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
          out = open();
          size = 0;
        }
      }
    } finally {
      out.close();
    }
  }

  /** A line the service adds (a restart, a stop), between the container's own. */
  synchronized void note(String line) {
    try (OutputStream out = open()) {
      out.write((line + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (IOException ignored) {
      // the log is best effort: a full disk must not stop the container
    }
  }

  private OutputStream open() throws IOException {
    Files.createDirectories(current.getParent());
    return Files.newOutputStream(current, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }
}
