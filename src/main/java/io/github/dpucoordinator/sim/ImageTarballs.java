package io.github.dpucoordinator.sim;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Image tarballs as {@code docker save} (Docker 25 and later) writes them, made here (by the simulation and the tests): an OCI layout
 * ({@code oci-layout}, {@code index.json}, {@code blobs/sha256/...}) with Docker's {@code manifest.json}; one layer
 * holding {@code files}. {@code change} may alter the entries (by path) before they are written, to make bad ones.
 */
public final class ImageTarballs {
  private ImageTarballs() {}

  /** A layer's entry: a file's bytes and mode, or (bytes null) a symbolic link to {@code link}. */
  public record Entry(byte[] bytes, int mode, String link) {
    public static Entry file(String text, int mode) {
      return new Entry(text.getBytes(StandardCharsets.UTF_8), mode, null);
    }

    public static Entry symlink(String to) {
      return new Entry(null, 0777, to);
    }
  }

  /**
   * A {@code docker save} tarball of an image with {@code layers} (in order) and {@code config} (the config's
   * {@code config} object: Entrypoint, Cmd, Env, WorkingDir, User).
   */
  public static Path image(Path file, String name, String tag, List<Map<String, Entry>> layers, String config) throws Exception {
    Files.write(file, tarOf(entries(name, tag, layers, config)));
    return file;
  }

  /** The tarball's entries, by path, in order. */
  private static Map<String, byte[]> entries(String name, String tag, List<Map<String, Entry>> layers, String config) throws Exception {
    List<byte[]> blobs = new ArrayList<>();
    for (Map<String, Entry> layer : layers) {
      blobs.add(layerTar(layer));
    }
    StringBuilder diffIds = new StringBuilder();
    StringBuilder layerDescriptors = new StringBuilder();
    StringBuilder layerPaths = new StringBuilder();
    for (byte[] b : blobs) {
      String d = sha256(b);
      String sep = diffIds.length() == 0 ? "" : ",";
      diffIds.append(sep).append("\"sha256:").append(d).append('"');
      layerDescriptors.append(sep).append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:").append(d)
          .append("\",\"size\":").append(b.length).append('}');
      layerPaths.append(sep).append("\"blobs/sha256/").append(d).append('"');
    }
    byte[] configBytes = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":" + config + ",\"rootfs\":{\"type\":\"layers\","
        + "\"diff_ids\":[" + diffIds + "]}}").getBytes(StandardCharsets.UTF_8);
    String configDigest = sha256(configBytes);
    byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":"
        + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" + configDigest + "\",\"size\":" + configBytes.length + "},"
        + "\"layers\":[" + layerDescriptors + "]}").getBytes(StandardCharsets.UTF_8);
    String manifestDigest = sha256(manifest);
    Map<String, byte[]> entries = new LinkedHashMap<>();
    for (byte[] b : blobs) {
      entries.put("blobs/sha256/" + sha256(b), b);
    }
    entries.put("blobs/sha256/" + configDigest, configBytes);
    entries.put("blobs/sha256/" + manifestDigest, manifest);
    entries.put("index.json", ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        + "\"digest\":\"sha256:" + manifestDigest + "\",\"size\":" + manifest.length + "}]}").getBytes(StandardCharsets.UTF_8));
    entries.put("manifest.json", ("[{\"Config\":\"blobs/sha256/" + configDigest + "\",\"RepoTags\":[\"" + name + ":" + tag + "\"],"
        + "\"Layers\":[" + layerPaths + "]}]").getBytes(StandardCharsets.UTF_8));
    entries.put("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8));
    return entries;
  }

  /**
   * A small script image: this host's {@code /bin/sh}, {@code sleep} and {@code cat} with the shared libraries
   * {@code ldd} names for them (so it runs chrooted), and {@code /app/run.sh} holding {@code script}, its entrypoint.
   */
  public static Path scriptImage(Path file, String name, String tag, String script) throws Exception {
    return scriptImage(file, name, tag, script, Map.of(), "");
  }

  /** The same with more {@code files} (path to text) and the config's {@code User} (none if empty). */
  public static Path scriptImage(Path file, String name, String tag, String script, Map<String, String> files, String user) throws Exception {
    Map<String, Entry> layer = new LinkedHashMap<>();
    for (String binary : List.of("/bin/sh", "/bin/sleep", "/bin/cat")) {
      Path real = Path.of(binary).toRealPath();
      layer.put(binary.substring(1), new Entry(Files.readAllBytes(real), 0755, null));
      Process ldd = new ProcessBuilder("ldd", real.toString()).redirectErrorStream(true).start();
      for (String line : new String(ldd.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(/\\S+)").matcher(line);
        while (m.find()) {
          Path lib = Path.of(m.group(1));
          if (Files.isRegularFile(lib)) {
            layer.put(lib.toString().substring(1), new Entry(Files.readAllBytes(lib.toRealPath()), 0755, null));
          }
        }
      }
      ldd.waitFor();
    }
    layer.put("app/run.sh", Entry.file(script, 0755));
    layer.put("tmp/.keep", Entry.file("", 0644));
    files.forEach((path, text) -> layer.put(path, Entry.file(text, 0644)));
    return image(file, name, tag, List.of(layer),
        "{\"Entrypoint\":[\"/bin/sh\",\"/app/run.sh\"],\"Env\":[\"PATH=/bin\",\"IMAGE=" + name + ":" + tag + "\"],\"WorkingDir\":\"/app\""
        + (user.isEmpty() ? "" : ",\"User\":\"" + user + "\"") + "}");
  }

  private static byte[] layerTar(Map<String, Entry> layer) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (OutputStream o = bytes; TarArchiveOutputStream tar = new TarArchiveOutputStream(o)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      java.util.Set<String> dirs = new java.util.TreeSet<>(); // every parent, as real layers have them (0755: others may enter)
      for (String path : layer.keySet()) {
        for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
          dirs.add(path.substring(0, slash + 1));
        }
      }
      for (String d : dirs) {
        TarArchiveEntry entry = new TarArchiveEntry(d);
        entry.setMode(040755);
        tar.putArchiveEntry(entry);
        tar.closeArchiveEntry();
      }
      for (Map.Entry<String, Entry> e : layer.entrySet()) {
        Entry v = e.getValue();
        TarArchiveEntry entry;
        if (v.bytes() == null) {
          entry = new TarArchiveEntry(e.getKey(), TarArchiveEntry.LF_SYMLINK);
          entry.setLinkName(v.link());
        } else {
          entry = new TarArchiveEntry(e.getKey());
          entry.setSize(v.bytes().length);
          entry.setMode(0100000 | v.mode());
        }
        tar.putArchiveEntry(entry);
        if (v.bytes() != null) {
          tar.write(v.bytes());
        }
        tar.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  public static Path write(Path file, String name, String tag, Map<String, String> files, UnaryOperator<Map<String, byte[]>> change)
      throws Exception {
    Map<String, Entry> layer = new LinkedHashMap<>();
    files.forEach((path, text) -> layer.put(path, Entry.file(text, 0644)));
    Files.write(file, tarOf(change.apply(entries(name, tag, List.of(layer), "{\"Cmd\":[\"/bin/sh\"]}"))));
    return file;
  }


  public static Path write(Path file, String name, String tag) throws Exception {
    return write(file, name, tag, Map.of("hello.txt", "hello from " + name), e -> e);
  }

  /** The config's digest of a tarball written by {@link #write}: the image's id, without "sha256:". */
  public static String configDigest(Path file) throws Exception {
    String manifest = new String(entry(file, "manifest.json"), StandardCharsets.UTF_8);
    int at = manifest.indexOf("blobs/sha256/") + "blobs/sha256/".length();
    return manifest.substring(at, at + 64);
  }

  private static byte[] entry(Path file, String name) throws IOException {
    try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(Files.newInputStream(file))) {
      for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
        if (e.getName().equals(name)) {
          return in.readAllBytes();
        }
      }
    }
    throw new IOException(name + " not in " + file);
  }


  private static byte[] tarOf(Map<String, byte[]> entries) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (OutputStream o = bytes; TarArchiveOutputStream tar = new TarArchiveOutputStream(o)) {
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        TarArchiveEntry entry = new TarArchiveEntry(e.getKey());
        entry.setSize(e.getValue().length);
        tar.putArchiveEntry(entry);
        tar.write(e.getValue());
        tar.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  public static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
