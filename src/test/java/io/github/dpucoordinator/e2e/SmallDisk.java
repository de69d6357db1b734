package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A 16 MiB tmpfs of the test's own (root only), that the test fills up and frees again; unmounted at {@link #close}. */
final class SmallDisk implements AutoCloseable {
  final Path root;
  private final Path filler;

  private SmallDisk(Path root) {
    this.root = root;
    this.filler = root.resolve("filler");
  }

  static SmallDisk mount(Path dir, String name) throws Exception {
    assertEquals("root", System.getProperty("user.name"), "mounting the test's tmpfs needs root (run -Psystem-tools as root)");
    Path root = Files.createDirectories(dir.resolve("disk"));
    run("mount", "-t", "tmpfs", "-o", "size=16m", name, root.toString());
    return new SmallDisk(root);
  }

  /** Writes until the filesystem says it is full: what a journal will see too. */
  void fill() throws IOException {
    byte[] block = new byte[64 * 1024];
    try (OutputStream out = Files.newOutputStream(filler)) {
      for (int i = 0; i < 16 * 1024 * 1024 / block.length + 16; i++) {
        out.write(block);
      }
    } catch (IOException full) {
      return; // ENOSPC
    }
    throw new AssertionError("the 16 MiB tmpfs did not fill up");
  }

  /** Space is back. */
  void free() throws IOException {
    Files.delete(filler);
  }

  @Override
  public void close() throws Exception {
    run("umount", "-l", root.toString());
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", command) + ": " + out);
  }
}
