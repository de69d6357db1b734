package io.github.dpucoordinator.npu.containerz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import io.github.dpucoordinator.sim.ImageTarballs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Containerz image store on a real directory: an upload becomes visible only once it is whole and a sound
 * {@code docker save} tarball, is identified by its config's sha256, and anything refused, cut or abandoned leaves
 * nothing behind; what a crash left is cleaned on open.
 */
class ImageStoreTest {
  private static final long MAX = 64L * 1024 * 1024;

  @TempDir
  Path dir;

  private ImageStore store() throws Exception {
    return ImageStore.open(dir.resolve("containerz"), MAX, 2);
  }

  /** Sends {@code file} to {@code upload} in chunks of {@code chunk} bytes, as Deploy does. */
  private static void send(ImageStore.Upload upload, byte[] bytes, int chunk) throws ContainerzError {
    for (int at = 0; at < bytes.length; at += chunk) {
      upload.write(Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + chunk)));
    }
  }

  private List<Path> leftovers() throws Exception {
    try (Stream<Path> all = Files.walk(dir.resolve("containerz").resolve("incoming"))) {
      return all.filter(Files::isRegularFile).toList();
    }
  }

  @Test
  void aWholeSoundTarballIsStoredUnderItsNameAndTagWithItsConfigsDigestAsId() throws Exception {
    ImageStore store = store();
    Path tarball = ImageTarballs.write(dir.resolve("t.tar"), "offload/redis", "7.2");
    byte[] bytes = Files.readAllBytes(tarball);
    ImageStore.Upload upload = store.begin(ImageRef.of("offload/redis", "7.2"), bytes.length);
    send(upload, bytes, 1000);
    ImageStore.Image image = upload.finish();
    assertEquals("sha256:" + ImageTarballs.configDigest(tarball), image.id());
    assertEquals(List.of(image), store.list());
    assertEquals("offload/redis:7.2", store.list().get(0).ref().toString());
    assertArrayEquals(bytes, Files.readAllBytes(store.tarball(image.ref())));
    assertEquals(List.of(), leftovers());

    store.remove(image.ref());
    assertEquals(List.of(), store.list());
    assertEquals(Code.NOT_FOUND, assertThrows(ContainerzError.class, () -> store.remove(image.ref())).code());
  }

  @Test
  void moreBytesThanAnnouncedAreRefusedAndNothingIsKept() throws Exception {
    ImageStore store = store();
    byte[] bytes = Files.readAllBytes(ImageTarballs.write(dir.resolve("t.tar"), "app", "1"));
    ImageStore.Upload upload = store.begin(ImageRef.of("app", "1"), bytes.length - 1);
    ContainerzError e = assertThrows(ContainerzError.class, () -> send(upload, bytes, 4096));
    assertEquals(Code.INVALID_ARGUMENT, e.code());
    assertTrue(e.getMessage().contains("more bytes than the image_size"), e.getMessage());
    assertEquals(List.of(), store.list());
    assertEquals(List.of(), leftovers());
    store.begin(ImageRef.of("app", "1"), 10).abandon(); // the reference is free again
  }

  @Test
  void anUploadCutShortOrAbandonedLeavesNothing() throws Exception {
    ImageStore store = store();
    byte[] bytes = Files.readAllBytes(ImageTarballs.write(dir.resolve("t.tar"), "app", "1"));
    ImageStore.Upload cut = store.begin(ImageRef.of("app", "1"), bytes.length);
    send(cut, Arrays.copyOf(bytes, bytes.length / 2), 1000);
    ContainerzError short_ = assertThrows(ContainerzError.class, cut::finish);
    assertTrue(short_.getMessage().contains("ended after " + bytes.length / 2 + " of the " + bytes.length), short_.getMessage());
    ImageStore.Upload dropped = store.begin(ImageRef.of("app", "1"), bytes.length);
    send(dropped, Arrays.copyOf(bytes, 100), 100);
    dropped.abandon(); // the client went away
    assertEquals(List.of(), store.list());
    assertEquals(List.of(), leftovers());
  }

  @Test
  void aTarballThatIsNotSoundIsRefusedNamingWhatIsWrong() throws Exception {
    ImageStore store = store();
    record Bad(String what, java.util.function.UnaryOperator<Map<String, byte[]>> change, String says) {}
    List<Bad> bad = List.of(
        new Bad("corrupt layer", e -> {
          e.replaceAll((k, v) -> k.startsWith("blobs/") && v.length > 1000 ? flip(v) : v);
          return e;
        }, "does not hash to its name"),
        new Bad("no manifest.json", e -> {
          e.remove("manifest.json");
          return e;
        }, "manifest.json is missing"),
        new Bad("layer missing", e -> {
          e.keySet().removeIf(k -> k.startsWith("blobs/") && e.get(k).length > 1000);
          return e;
        }, "is not in the tarball"));
    for (Bad b : bad) {
      byte[] bytes = Files.readAllBytes(ImageTarballs.write(dir.resolve("bad.tar"), "app", "1", Map.of("f", "x".repeat(3000)), b.change()));
      ImageStore.Upload upload = store.begin(ImageRef.of("app", "1"), bytes.length);
      send(upload, bytes, 8192);
      ContainerzError e = assertThrows(ContainerzError.class, upload::finish, b.what());
      assertEquals(Code.INVALID_ARGUMENT, e.code(), b.what());
      assertTrue(e.getMessage().contains(b.says()), b.what() + ": " + e.getMessage());
    }
    byte[] notTar = "this is not a tarball at all".repeat(40).getBytes();
    ImageStore.Upload upload = store.begin(ImageRef.of("app", "1"), notTar.length);
    send(upload, notTar, 100);
    assertEquals(Code.INVALID_ARGUMENT, assertThrows(ContainerzError.class, upload::finish).code());
    assertEquals(List.of(), store.list());
    assertEquals(List.of(), leftovers());
  }

  @Test
  void sizesNamesAndConcurrentUploadsAreChecked() throws Exception {
    ImageStore store = store();
    assertEquals(Code.RESOURCE_EXHAUSTED, assertThrows(ContainerzError.class, () -> store.begin(ImageRef.of("app", "1"), MAX + 1)).code());
    assertEquals(Code.INVALID_ARGUMENT, assertThrows(ContainerzError.class, () -> store.begin(ImageRef.of("app", "1"), 0)).code());
    for (String name : List.of("../etc", "a//b", "UPPER", "/abs", "a/../b", "")) {
      assertEquals(Code.INVALID_ARGUMENT, assertThrows(ContainerzError.class, () -> ImageRef.of(name, "1")).code(), name);
    }
    for (String tag : List.of("", ".hidden", "-x", "a/b", "x".repeat(129))) {
      assertEquals(Code.INVALID_ARGUMENT, assertThrows(ContainerzError.class, () -> ImageRef.of("app", tag)).code(), tag);
    }
    ImageStore.Upload first = store.begin(ImageRef.of("app", "1"), 10);
    ImageStore.Upload second = store.begin(ImageRef.of("app", "2"), 10);
    ContainerzError tooMany = assertThrows(ContainerzError.class, () -> store.begin(ImageRef.of("app", "3"), 10));
    assertTrue(tooMany.getMessage().contains("max-uploads"), tooMany.getMessage());
    first.abandon();
    second.abandon();
    store.begin(ImageRef.of("app", "3"), 10).abandon();
  }

  @Test
  void uploadsOfOneImageRunOneAfterTheOther() throws Exception {
    ImageStore store = ImageStore.open(dir.resolve("serial"), MAX, 4, java.time.Duration.ofSeconds(30));
    ImageStore.Upload first = store.begin(ImageRef.of("app", "1"), 10);
    java.util.concurrent.CompletableFuture<ImageStore.Upload> second = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return store.begin(ImageRef.of("app", "1"), 10);
      } catch (ContainerzError e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
    store.begin(ImageRef.of("app", "2"), 10).abandon(); // another image is not held up meanwhile
    assertFalse(second.isDone(), "the second upload of app:1 waits while the first goes on");
    first.abandon();
    second.get(10, java.util.concurrent.TimeUnit.SECONDS).abandon();

    ImageStore impatient = ImageStore.open(dir.resolve("impatient"), MAX, 4, java.time.Duration.ofMillis(200));
    ImageStore.Upload held = impatient.begin(ImageRef.of("app", "1"), 10);
    ContainerzError refused = assertThrows(ContainerzError.class, () -> impatient.begin(ImageRef.of("app", "1"), 10));
    assertEquals(Code.UNAVAILABLE, refused.code());
    assertTrue(refused.getMessage().contains("same-image-wait"), refused.getMessage());
    held.abandon();
  }

  @Test
  void whatACrashLeftHalfWrittenIsRemovedOnOpen() throws Exception {
    ImageStore store = store();
    byte[] bytes = Files.readAllBytes(ImageTarballs.write(dir.resolve("t.tar"), "app", "1"));
    ImageStore.Upload upload = store.begin(ImageRef.of("app", "1"), bytes.length);
    send(upload, Arrays.copyOf(bytes, 500), 500); // the service dies here: the upload is never ended
    assertEquals(1, leftovers().size());
    ImageStore reopened = store();
    assertEquals(List.of(), leftovers());
    assertEquals(List.of(), reopened.list());
  }

  private static byte[] flip(byte[] v) {
    byte[] copy = v.clone();
    copy[copy.length / 2] ^= 1;
    return copy;
  }
}
