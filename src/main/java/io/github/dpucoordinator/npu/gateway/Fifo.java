package io.github.dpucoordinator.npu.gateway;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/** A named pipe at a path: created with mkfifo and a mode, checked, and opened read-write. */
final class Fifo {
  private final Path path;
  private final String mode;

  Fifo(Path path, String mode) {
    this.path = path;
    this.mode = mode;
  }

  Path path() {
    return path;
  }

  /** Creates the FIFO if nothing is at the path; refuses to touch anything else that is. */
  void ensure() throws IOException {
    if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      if (!Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
        throw new IOException(path + " exists and is not a named pipe; remove it or configure another path");
      }
      return;
    }
    Files.createDirectories(path.toAbsolutePath().getParent());
    try {
      Process p = new ProcessBuilder("mkfifo", "-m", mode, path.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).strip();
      if (p.waitFor() != 0) {
        throw new IOException("mkfifo " + path + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted creating " + path, e);
    }
  }

  /**
   * The identity of the file now at the path (device and inode on Linux), or null if nothing is
   * there: tells a recreated pipe from the one held open.
   */
  Object key() {
    try {
      return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Opened read-write: on Linux that never blocks waiting for the other end, and holding both ends
   * means readers never see end-of-file and writers never fail for want of a reader.
   */
  RandomAccessFile open() throws IOException {
    return new RandomAccessFile(path.toFile(), "rw");
  }
}
