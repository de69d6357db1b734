package io.github.dpucoordinator.npu.containerz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Image tarballs as {@code docker save} (Docker 25 and later) writes them, made by the tests: an OCI layout
 * ({@code oci-layout}, {@code index.json}, {@code blobs/sha256/...}) with Docker's {@code manifest.json}; one layer
 * holding {@code files}. {@code change} may alter the entries (by path) before they are written, to make bad ones.
 */
final class ImageTarballs {
  private ImageTarballs() {}

  static Path write(Path file, String name, String tag, Map<String, String> files, UnaryOperator<Map<String, byte[]>> change)
      throws Exception {
    byte[] layer = tar(files);
    String layerDigest = sha256(layer);
    byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\","
        + "\"diff_ids\":[\"sha256:" + layerDigest + "\"]}}").getBytes(StandardCharsets.UTF_8);
    String configDigest = sha256(config);
    byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":"
        + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" + configDigest + "\",\"size\":" + config.length + "},"
        + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:" + layerDigest + "\",\"size\":"
        + layer.length + "}]}").getBytes(StandardCharsets.UTF_8);
    String manifestDigest = sha256(manifest);
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put("blobs/sha256/" + layerDigest, layer);
    entries.put("blobs/sha256/" + configDigest, config);
    entries.put("blobs/sha256/" + manifestDigest, manifest);
    entries.put("index.json", ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        + "\"digest\":\"sha256:" + manifestDigest + "\",\"size\":" + manifest.length + "}]}").getBytes(StandardCharsets.UTF_8));
    entries.put("manifest.json", ("[{\"Config\":\"blobs/sha256/" + configDigest + "\",\"RepoTags\":[\"" + name + ":" + tag + "\"],"
        + "\"Layers\":[\"blobs/sha256/" + layerDigest + "\"]}]").getBytes(StandardCharsets.UTF_8));
    entries.put("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8));
    Files.write(file, tarOf(change.apply(entries)));
    return file;
  }

  static Path write(Path file, String name, String tag) throws Exception {
    return write(file, name, tag, Map.of("hello.txt", "hello from " + name), e -> e);
  }

  /** The config's digest of a tarball written by {@link #write}: the image's id, without "sha256:". */
  static String configDigest(Path file) throws Exception {
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

  private static byte[] tar(Map<String, String> files) throws IOException {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    files.forEach((k, v) -> entries.put(k, v.getBytes(StandardCharsets.UTF_8)));
    return tarOf(entries);
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

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
