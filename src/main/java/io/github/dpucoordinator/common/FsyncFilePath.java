package io.github.dpucoordinator.common;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;
import org.h2.store.fs.FileBase;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * H2's file system with one difference: every write to a database file is forced to stable storage
 * (fdatasync) before it returns. H2's MVStore writes each commit as one chunk from the committing thread
 * when {@code WRITE_DELAY=0}, but never syncs it; through this wrapper ({@code jdbc:h2:fsync:/path}) a
 * commit that has returned is on disk, so a journaled event survives a power loss, not only a SIGKILL.
 * A file's directory is synced when the file is created.
 */
public final class FsyncFilePath extends FilePathWrapper {
  public static final String SCHEME = "fsync";
  private static final AtomicBoolean REGISTERED = new AtomicBoolean();

  /** Makes the {@code fsync:} prefix known to H2 in this JVM; idempotent. */
  public static void register() {
    if (REGISTERED.compareAndSet(false, true)) {
      FilePath.register(new FsyncFilePath());
    }
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public FileChannel open(String mode) throws IOException {
    boolean created = !exists();
    FileChannel channel = getBase().open(mode);
    if (mode.equals("r")) {
      return channel;
    }
    if (created) {
      syncDirectoryOf(Path.of(getBase().toString()));
    }
    return new Synced(channel, getBase().toString());
  }

  private static void syncDirectoryOf(Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    if (dir != null) {
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      }
    }
  }

  /** A file channel whose writes and truncations are on stable storage when they return. */
  private static final class Synced extends FileBase {
    private final FileChannel channel;
    private final String name;

    Synced(FileChannel channel, String name) {
      this.channel = channel;
      this.name = name;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      return channel.read(dst);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return channel.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      int written = channel.write(src);
      channel.force(false);
      return written;
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
      int written = channel.write(src, position);
      channel.force(false);
      return written;
    }

    @Override
    public long position() throws IOException {
      return channel.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
      channel.position(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      return channel.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
      channel.truncate(size);
      channel.force(true);
      return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
      channel.force(metaData);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
      return channel.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
      channel.close();
    }

    @Override
    public String toString() {
      return SCHEME + ":" + name;
    }
  }
}
