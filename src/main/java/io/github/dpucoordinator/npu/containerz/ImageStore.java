package io.github.dpucoordinator.npu.containerz;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The NPU's store of deployed images, under {@code <data dir>/containerz/images}: one directory per {@code name:tag}
 * holding the tarball as uploaded ({@code image.tar}) and what the check found ({@code image.json}: id, size).
 *
 * <p>An upload ({@link #begin}) is written to a file of its own under {@code containerz/incoming}, refused as soon as
 * it would pass its declared size, checked at its end ({@link DockerArchive}) and only then moved into place, in one
 * rename of its directory; an upload that is cut, fails or is abandoned leaves nothing, and {@link #open} removes what
 * a crash left in {@code incoming}. One upload per {@code name:tag} at a time, and at most {@code maxUploads} in all.
 * Thread-safe.
 */
public final class ImageStore {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A stored image: its reference, id ({@code sha256:} of its config) and size in bytes. */
  public record Image(ImageRef ref, String id, long size) {}

  private final Path images;
  private final Path incoming;
  private final long maxImageSize;
  private final int maxUploads;
  private final java.time.Duration sameImageWait;
  private final Set<String> uploading = new HashSet<>();

  private ImageStore(Path root, long maxImageSize, int maxUploads, java.time.Duration sameImageWait) {
    this.images = root.resolve("images");
    this.incoming = root.resolve("incoming");
    this.maxImageSize = maxImageSize;
    this.maxUploads = maxUploads;
    this.sameImageWait = sameImageWait;
  }

  /** The store under {@code root}, with what an earlier run left half written removed. */
  public static ImageStore open(Path root, long maxImageSize, int maxUploads) throws IOException {
    return open(root, maxImageSize, maxUploads, java.time.Duration.ofSeconds(60));
  }

  /** {@code sameImageWait}: how long an upload waits for another of the same {@code name:tag} to end. */
  public static ImageStore open(Path root, long maxImageSize, int maxUploads, java.time.Duration sameImageWait) throws IOException {
    ImageStore store = new ImageStore(root, maxImageSize, maxUploads, sameImageWait);
    Files.createDirectories(store.images);
    deleteTree(store.incoming);
    Files.createDirectories(store.incoming);
    return store;
  }

  /**
   * Starts an upload of {@code size} bytes as {@code ref}: refused when the size is 0 or above the configured maximum
   * (INVALID_ARGUMENT, RESOURCE_EXHAUSTED), the disk has less room than twice it (RESOURCE_EXHAUSTED: the upload and
   * what a runtime unpacks), or too many others are being uploaded (UNAVAILABLE). Uploads of one {@code name:tag} are
   * serialised: this one waits (the caller's thread) for the one in progress to end, up to {@code sameImageWait}, then
   * is refused UNAVAILABLE.
   */
  public Upload begin(ImageRef ref, long size) throws ContainerzError {
    if (size <= 0) {
      throw new ContainerzError(Code.INVALID_ARGUMENT, "image_size must be given (the number of bytes to be sent), not " + size);
    }
    if (size > maxImageSize) {
      throw new ContainerzError(Code.RESOURCE_EXHAUSTED, "image of " + size + " bytes is above the limit of " + maxImageSize
          + " bytes (dpu-coordinator.npu.containerz.max-image-size)");
    }
    try {
      long free = Files.getFileStore(incoming).getUsableSpace();
      if (free < 2 * size) {
        throw new ContainerzError(Code.RESOURCE_EXHAUSTED, "not enough disk for an image of " + size + " bytes: " + free
            + " bytes free under " + incoming + ", twice the image is needed");
      }
    } catch (IOException e) {
      throw new ContainerzError(Code.INTERNAL, "cannot read the free space under " + incoming + ": " + e.getMessage(), e);
    }
    synchronized (uploading) {
      long deadline = System.nanoTime() + sameImageWait.toNanos();
      while (uploading.contains(ref.toString())) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new ContainerzError(Code.UNAVAILABLE, ref + " was still being uploaded by another Deploy after "
              + sameImageWait.toSeconds() + " s (dpu-coordinator.npu.containerz.same-image-wait); try again when it has ended");
        }
        try {
          uploading.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new ContainerzError(Code.UNAVAILABLE, "interrupted while waiting for another upload of " + ref);
        }
      }
      if (uploading.size() >= maxUploads) {
        throw new ContainerzError(Code.UNAVAILABLE, uploading.size() + " uploads are running, the most at once "
            + "(dpu-coordinator.npu.containerz.max-uploads); try again later");
      }
      uploading.add(ref.toString());
    }
    try {
      Path dir = Files.createTempDirectory(incoming, "upload-");
      return new Upload(ref, size, dir, Files.newOutputStream(dir.resolve("image.tar")));
    } catch (IOException e) {
      release(ref);
      throw new ContainerzError(Code.INTERNAL, "cannot start the upload under " + incoming + ": " + e.getMessage(), e);
    }
  }

  /** The stored images, by name and tag. */
  public List<Image> list() throws IOException {
    List<Image> found = new ArrayList<>();
    try (Stream<Path> files = Files.walk(images)) {
      for (Path meta : files.filter(p -> p.getFileName().toString().equals("image.json")).toList()) {
        Map<?, ?> m = JSON.readValue(meta.toFile(), Map.class);
        found.add(new Image(new ImageRef((String) m.get("name"), (String) m.get("tag")), (String) m.get("id"),
            ((Number) m.get("size")).longValue()));
      }
    }
    found.sort(Comparator.comparing(i -> i.ref().toString()));
    return found;
  }

  /** The stored image {@code ref}, or NOT_FOUND. */
  public Image get(ImageRef ref) throws ContainerzError, IOException {
    return list().stream().filter(i -> i.ref().equals(ref)).findFirst()
        .orElseThrow(() -> new ContainerzError(Code.NOT_FOUND, "no image " + ref + " in the store"));
  }

  /** The tarball of stored image {@code ref}, for a runtime to load. */
  public Path tarball(ImageRef ref) {
    return dir(ref).resolve("image.tar");
  }

  /** Removes stored image {@code ref}; NOT_FOUND when there is none. */
  public void remove(ImageRef ref) throws ContainerzError, IOException {
    Path dir = dir(ref);
    if (!Files.exists(dir.resolve("image.json"))) {
      throw new ContainerzError(Code.NOT_FOUND, "no image " + ref + " in the store");
    }
    Path gone = Files.createTempDirectory(incoming, "removed-");
    Files.move(dir, gone.resolve("image"), StandardCopyOption.ATOMIC_MOVE); // invisible at once, deleted after
    deleteTree(gone);
  }

  private Path dir(ImageRef ref) {
    return images.resolve(ref.name()).resolve("_tag").resolve(ref.tag());
  }

  private void release(ImageRef ref) {
    synchronized (uploading) {
      uploading.remove(ref.toString());
      uploading.notifyAll();
    }
  }

  /** One upload in progress: bytes in order, then {@link #finish} or {@link #abandon} (exactly one of them, once). */
  public final class Upload implements AutoCloseable {
    private final ImageRef ref;
    private final long size;
    private final Path dir;
    private final OutputStream out;
    private long received;
    private boolean ended;

    private Upload(ImageRef ref, long size, Path dir, OutputStream out) {
      this.ref = ref;
      this.size = size;
      this.dir = dir;
      this.out = out;
    }

    /** Appends {@code bytes}; INVALID_ARGUMENT (and the upload abandoned) when they pass the declared size. */
    public long write(byte[] bytes) throws ContainerzError {
      if (received + bytes.length > size) {
        abandon();
        throw new ContainerzError(Code.INVALID_ARGUMENT, "more bytes than the image_size of " + size + " given for " + ref
            + " (" + (received + bytes.length) + " so far); nothing was kept");
      }
      try {
        out.write(bytes);
      } catch (IOException e) {
        abandon();
        throw ioFailure("cannot write the upload of " + ref, e);
      }
      received += bytes.length;
      return received;
    }

    public long received() {
      return received;
    }

    /**
     * Ends the upload: it must have all {@code image_size} bytes and be a sound {@code docker save} tarball; then it
     * replaces any image stored as the same reference, in one rename. Refused uploads leave nothing.
     */
    public Image finish() throws ContainerzError {
      try {
        out.close();
        if (received != size) {
          throw new ContainerzError(Code.INVALID_ARGUMENT, "the upload of " + ref + " ended after " + received + " of the "
              + size + " bytes announced; nothing was kept");
        }
        DockerArchive.Checked checked = DockerArchive.check(dir.resolve("image.tar"));
        Image image = new Image(ref, checked.id(), size);
        Files.writeString(dir.resolve("image.json"), JSON.writeValueAsString(Map.of("name", ref.name(), "tag", ref.tag(),
            "id", checked.id(), "size", size)), StandardCharsets.UTF_8);
        Path target = dir(ref);
        Files.createDirectories(target.getParent());
        if (Files.exists(target)) {
          Path old = Files.createTempDirectory(incoming, "replaced-");
          Files.move(target, old.resolve("image"), StandardCopyOption.ATOMIC_MOVE);
          Files.move(dir, target, StandardCopyOption.ATOMIC_MOVE);
          deleteTree(old);
        } else {
          Files.move(dir, target, StandardCopyOption.ATOMIC_MOVE);
        }
        return image;
      } catch (AtomicMoveNotSupportedException e) {
        throw new ContainerzError(Code.INTERNAL, "the store cannot rename atomically under " + images + ": " + e.getMessage(), e);
      } catch (IOException e) {
        throw ioFailure("cannot store " + ref, e);
      } finally {
        end();
      }
    }

    /** A write that failed: RESOURCE_EXHAUSTED for a full disk (ENOSPC, EDQUOT), INTERNAL otherwise; nothing is kept either way. */
    private static ContainerzError ioFailure(String what, IOException e) {
      String m = String.valueOf(e.getMessage());
      boolean full = m.contains("No space left") || m.contains("Disk quota exceeded");
      return new ContainerzError(full ? Code.RESOURCE_EXHAUSTED : Code.INTERNAL, what + ": " + m + "; nothing was kept", e);
    }

    /** Drops the upload (the stream was cut, failed or was cancelled): nothing of it is kept. */
    public void abandon() {
      end();
    }

    @Override
    public void close() {
      end();
    }

    private void end() {
      if (ended) {
        return;
      }
      ended = true;
      try {
        out.close();
      } catch (IOException ignored) {
        // the directory goes anyway
      }
      deleteTreeQuietly(dir);
      release(ref);
    }
  }

  private static void deleteTreeQuietly(Path dir) {
    try {
      deleteTree(dir);
    } catch (IOException ignored) {
      // what is left is removed by the next open
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
