package io.github.dpucoordinator.npu.containerz.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Reads a {@link BoundedLog} by line: what it holds ({@code log.1}, then {@code log}), and when following, what is
 * written after, read every {@code interval}, until the container has stopped and everything it wrote was read (or the
 * client goes). A turn-over of the file between two reads is noticed (the file read so far is now {@code log.1}) and
 * its rest read first. A line not yet ended by a newline waits for its end, or for the end of the reading.
 */
final class LogTail {
  private static final int MAX_READ = 4 * 1024 * 1024;

  private final BoundedLog log;
  private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
  private Object fileKey;
  private long position;

  private LogTail(BoundedLog log) {
    this.log = log;
  }

  /** {@code running}: whether the container still runs (asked before each read while following). */
  static Source<String, NotUsed> of(BoundedLog log, boolean follow, Supplier<CompletionStage<Boolean>> running, Duration interval) {
    LogTail tail = new LogTail(log);
    Source<String, NotUsed> now = Source.lazySource(() -> Source.from(tail.sofar(!follow))).mapMaterializedValue(f -> NotUsed.getInstance());
    if (!follow) {
      return now;
    }
    Source<Batch, NotUsed> later = Source.tick(interval, interval, 0)
        .mapAsync(1, t -> running.get().thenApply(up -> tail.next(!up))).takeWhile(b -> !b.last(), true)
        .mapMaterializedValue(c -> NotUsed.getInstance());
    return now.concat(later.mapConcat(Batch::lines));
  }

  private record Batch(List<String> lines, boolean last) {}

  private List<String> sofar(boolean toTheEnd) throws IOException {
    List<String> lines = new ArrayList<>();
    if (Files.exists(log.previous())) {
      lines.addAll(lines(readFrom(log.previous(), 0)));
    }
    lines.addAll(lines(readCurrent()));
    if (toTheEnd) {
      flushPartial(lines);
    }
    return lines;
  }

  /** {@code stopped} is known before reading: what the container wrote before it stopped is read now. */
  private Batch next(boolean stopped) {
    try {
      return read(stopped);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Batch read(boolean stopped) throws IOException {
    List<String> lines = new ArrayList<>();
    Object key = Files.exists(log.current()) ? Files.readAttributes(log.current(), BasicFileAttributes.class).fileKey() : null;
    if (fileKey != null && !fileKey.equals(key) && Files.exists(log.previous())) {
      lines.addAll(lines(readFrom(log.previous(), position))); // turned over since the last read: the rest of the old file first
      position = 0;
    }
    lines.addAll(lines(readCurrent()));
    if (stopped) {
      flushPartial(lines);
    }
    return new Batch(lines, stopped);
  }

  private byte[] readCurrent() throws IOException {
    if (!Files.exists(log.current())) {
      fileKey = null;
      return new byte[0];
    }
    fileKey = Files.readAttributes(log.current(), BasicFileAttributes.class).fileKey();
    if (Files.size(log.current()) < position) {
      position = 0;
    }
    byte[] bytes = readFrom(log.current(), position);
    position += bytes.length;
    return bytes;
  }

  private static byte[] readFrom(Path file, long from) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long length = f.length();
      if (from >= length) {
        return new byte[0];
      }
      byte[] bytes = new byte[(int) Math.min(length - from, MAX_READ)];
      f.seek(from);
      f.readFully(bytes);
      return bytes;
    }
  }

  /** The complete lines in what was held back and {@code bytes}; the rest is held back. */
  private List<String> lines(byte[] bytes) {
    partial.writeBytes(bytes);
    byte[] all = partial.toByteArray();
    List<String> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < all.length; i++) {
      if (all[i] == '\n') {
        lines.add(new String(all, start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    partial.reset();
    partial.write(all, start, all.length - start);
    return lines;
  }

  private void flushPartial(List<String> lines) {
    if (partial.size() > 0) {
      lines.add(partial.toString(StandardCharsets.UTF_8));
      partial.reset();
    }
  }
}
