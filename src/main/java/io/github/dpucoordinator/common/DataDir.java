package io.github.dpucoordinator.common;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The NPU service's data dir, made ready before anything opens the journal: created if missing, and
 * checked to be a directory this process can write in, so that what is wrong is said in words
 * ("permission denied", "is a file") instead of a database stack trace.
 */
public final class DataDir {
  private static final String HOW = " (set it with --data-dir, DPUCOORD_DATA_DIR or dpu-coordinator.npu.data-dir)";

  private DataDir() {}

  /** Throws IllegalStateException saying what is wrong with {@code dir} and where. */
  public static void prepare(Path dir) {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new IllegalStateException("the data dir " + dir + " is a file, not a directory" + HOW);
    }
    try {
      Files.createDirectories(dir);
    } catch (AccessDeniedException e) {
      throw new IllegalStateException("cannot create the data dir " + dir + ": permission denied on " + e.getFile() + HOW);
    } catch (FileAlreadyExistsException e) {
      throw new IllegalStateException("cannot create the data dir " + dir + ": " + e.getFile() + " is a file, not a directory" + HOW);
    } catch (FileSystemException e) {
      throw new IllegalStateException("cannot create the data dir " + dir + ": " + reason(e) + HOW);
    } catch (IOException e) {
      throw new IllegalStateException("cannot create the data dir " + dir + ": " + e.getMessage() + HOW);
    }
    Path probe = dir.resolve(".dpuctl-write-check");
    try {
      Files.deleteIfExists(probe);
      Files.createFile(probe);
      Files.delete(probe);
    } catch (AccessDeniedException e) {
      throw new IllegalStateException("the data dir " + dir + " is not writable: permission denied" + owner(dir) + HOW);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write in the data dir " + dir + ": " + reason(e) + HOW);
    }
    Path journal = dir.resolve("journal.mv.db");
    if (Files.exists(journal)) {
      try (FileChannel ignored = FileChannel.open(journal, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        // readable and writable
      } catch (AccessDeniedException e) {
        throw new IllegalStateException("the journal " + journal + " cannot be opened for writing: permission denied" + owner(journal));
      } catch (IOException e) {
        throw new IllegalStateException("cannot open the journal " + journal + ": " + reason(e));
      }
    }
  }

  private static String reason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file or directory: " + e.getMessage();
    }
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getReason() + (f.getFile() != null ? " (" + f.getFile() + ")" : "");
    }
    return String.valueOf(e.getMessage());
  }

  private static String owner(Path p) {
    if (!p.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return "";
    }
    try {
      return " (owner " + Files.getOwner(p).getName() + ", mode " + java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(p)) + ", this process runs as " + System.getProperty("user.name") + ")";
    } catch (IOException e) {
      return "";
    }
  }
}
