package io.github.dpucoordinator.npu.containerz.process;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.dpucoordinator.npu.containerz.ContainerzError;
import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarFile;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * An image's root file system, unpacked from its {@code docker save} tarball for the process runtime: its layers in
 * order, with the overlay's whiteouts ({@code .wh.<name>} removes a lower layer's file, {@code .wh..wh..opq} empties a
 * directory of lower layers' files). Nothing is written outside the target: entry names that climb out, or that pass
 * through a symbolic link, are refused; device files are skipped. Also reads what the image's config says to run.
 */
public final class RootFs {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String WHITEOUT = ".wh.";
  private static final String OPAQUE = ".wh..wh..opq";

  private RootFs() {}

  /** What the image's config says: entrypoint and command (either may be empty), environment, working directory and user. */
  public record ImageConfig(List<String> entrypoint, List<String> cmd, Map<String, String> env, String workingDir, String user) {}

  /** Unpacks {@code tarball}'s first image into {@code target} (made afresh) and returns its config. */
  public static ImageConfig unpack(Path tarball, Path target) throws ContainerzError, IOException {
    deleteTree(target);
    Files.createDirectories(target);
    try (TarFile tar = new TarFile(tarball)) {
      Map<String, TarArchiveEntry> entries = new LinkedHashMap<>();
      for (TarArchiveEntry e : tar.getEntries()) {
        entries.put(normal(e.getName()), e);
      }
      JsonNode manifest = JSON.readTree(read(tar, entries, "manifest.json"));
      JsonNode image = manifest.path(0);
      JsonNode config = JSON.readTree(read(tar, entries, normal(image.path("Config").asText(""))));
      for (JsonNode layer : image.path("Layers")) {
        TarArchiveEntry e = entries.get(normal(layer.asText("")));
        if (e == null) {
          throw new ContainerzError(Code.INVALID_ARGUMENT, "the layer " + layer.asText() + " is not in the image");
        }
        try (InputStream in = new BufferedInputStream(tar.getInputStream(e), 1 << 16)) {
          applyLayer(maybeGzip(in), target);
        }
      }
      return configOf(config.path("config"));
    }
  }

  private static byte[] read(TarFile tar, Map<String, TarArchiveEntry> entries, String name) throws IOException, ContainerzError {
    TarArchiveEntry e = entries.get(name);
    if (e == null) {
      throw new ContainerzError(Code.INVALID_ARGUMENT, name + " is not in the image");
    }
    try (InputStream in = tar.getInputStream(e)) {
      return in.readAllBytes();
    }
  }

  private static InputStream maybeGzip(InputStream in) throws IOException {
    in.mark(2);
    int a = in.read();
    int b = in.read();
    in.reset();
    return a == 0x1f && b == 0x8b ? new GzipCompressorInputStream(in) : in;
  }

  private static void applyLayer(InputStream layer, Path root) throws IOException, ContainerzError {
    Set<Path> fromThisLayer = new HashSet<>();
    List<Path> opaque = new ArrayList<>();
    TarArchiveInputStream tar = new TarArchiveInputStream(layer);
    for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
      String name = normal(e.getName());
      if (name.isEmpty()) {
        continue;
      }
      Path path = inside(root, name);
      String base = path.getFileName().toString();
      if (base.equals(OPAQUE)) {
        opaque.add(path.getParent());
        continue;
      }
      if (base.startsWith(WHITEOUT)) {
        deleteTree(path.resolveSibling(base.substring(WHITEOUT.length())));
        continue;
      }
      fromThisLayer.add(path);
      write(tar, e, root, path);
    }
    for (Path dir : opaque) {
      try (Stream<Path> children = Files.list(dir)) {
        for (Path child : children.toList()) {
          if (!fromThisLayer.contains(child)) {
            deleteTree(child);
          }
        }
      }
    }
  }

  private static void write(TarArchiveInputStream tar, TarArchiveEntry e, Path root, Path path) throws IOException, ContainerzError {
    if (e.isDirectory()) {
      if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
        deleteTree(path);
        Files.createDirectories(path);
      }
      setMode(path, e.getMode() | 0700);
      return;
    }
    Files.createDirectories(path.getParent());
    deleteTree(path);
    if (e.isSymbolicLink()) {
      Files.createSymbolicLink(path, Path.of(e.getLinkName())); // resolved inside the root when the container runs chrooted
    } else if (e.isLink()) {
      Files.createLink(path, inside(root, normal(e.getLinkName()))); // same root, same file system; path was cleared above
    } else if (e.isFile()) {
      Files.copy(tar, path);
      setMode(path, e.getMode());
    } // devices, FIFOs: not made
  }

  /** {@code name} under {@code root}, refused if it climbs out or passes through a symbolic link already there. */
  static Path inside(Path root, String name) throws ContainerzError {
    Path path = root.resolve(name).normalize();
    if (!path.startsWith(root) || path.equals(root)) {
      throw new ContainerzError(Code.INVALID_ARGUMENT, "the image holds an entry outside its root: " + name);
    }
    for (Path p = path.getParent(); p != null && !p.equals(root); p = p.getParent()) {
      if (Files.isSymbolicLink(p)) {
        throw new ContainerzError(Code.INVALID_ARGUMENT, "the image writes " + name + " through the symbolic link " + root.relativize(p));
      }
    }
    return path;
  }

  private static void setMode(Path path, int mode) throws IOException {
    Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
    for (int i = 0; i < order.length; i++) {
      if ((mode & (1 << i)) != 0) {
        perms.add(order[i]);
      }
    }
    Files.setPosixFilePermissions(path, perms);
  }

  private static ImageConfig configOf(JsonNode c) {
    Map<String, String> env = new LinkedHashMap<>();
    for (JsonNode kv : c.path("Env")) {
      String s = kv.asText("");
      int eq = s.indexOf('=');
      if (eq > 0) {
        env.put(s.substring(0, eq), s.substring(eq + 1));
      }
    }
    return new ImageConfig(strings(c.path("Entrypoint")), strings(c.path("Cmd")), env, c.path("WorkingDir").asText(""),
        c.path("User").asText(""));
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static String normal(String name) {
    String n = name.startsWith("./") ? name.substring(2) : name;
    return n.endsWith("/") ? n.substring(0, n.length() - 1) : n;
  }

  /** {@link #deleteTree}, a failure logged rather than thrown. */
  static void deleteQuietly(Path path) {
    try {
      deleteTree(path);
    } catch (IOException e) {
      org.slf4j.LoggerFactory.getLogger(RootFs.class).warn("[container=unknown dpu=none] cannot delete {}: {}", path, e.getMessage());
    }
  }

  /** Deletes a file, link or tree, not following links; nothing if absent. */
  static void deleteTree(Path path) throws IOException {
    if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      try (Stream<Path> children = Files.list(path)) {
        for (Path child : children.toList()) {
          deleteTree(child);
        }
      }
    }
    Files.deleteIfExists(path);
  }
}
