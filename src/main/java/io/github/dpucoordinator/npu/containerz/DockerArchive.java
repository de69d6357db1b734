package io.github.dpucoordinator.npu.containerz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Checks that a file is an image tarball as {@code docker save} writes it, before the store makes it visible: a
 * {@code manifest.json} naming, per image, a config and its layers, each present in the tarball; every blob stored by
 * its digest ({@code blobs/sha256/<hex>}, or a legacy {@code <hex>.json} config) hashes to its name; and where the
 * tarball is also an OCI layout ({@code index.json}), every layer has the size and digest its image manifest declares.
 * The image's id is its config's digest, as Docker's is. One pass over the file; only small entries (manifests,
 * configs) are kept in memory, within a bound.
 */
public final class DockerArchive {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Entries up to this size are kept for reading (manifests, configs, the index). */
  private static final int SMALL = 256 * 1024;
  /** At most this much of them in all. */
  private static final int SMALL_TOTAL = 8 * 1024 * 1024;

  private DockerArchive() {}

  /** What a checked tarball is: its id ({@code sha256:<hex>} of its config) and the number of layers. */
  public record Checked(String id, int layers) {}

  private record Entry(long size, String sha256) {}

  /** The {@code name:tag} references ({@code RepoTags}) the tarball's manifest.json gives its images, in order. */
  public static java.util.List<String> repoTags(Path tarball) throws IOException {
    try (InputStream file = new BufferedInputStream(Files.newInputStream(tarball), 1 << 16);
        TarArchiveInputStream tar = new TarArchiveInputStream(file)) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        if (e.isFile() && normal(e.getName()).equals("manifest.json")) {
          java.util.List<String> tags = new java.util.ArrayList<>();
          JSON.readTree(tar.readAllBytes()).forEach(image -> image.path("RepoTags").forEach(t -> tags.add(t.asText())));
          return tags;
        }
      }
    } catch (IllegalArgumentException e) {
      throw new IOException(tarball + " cannot be read as a tar archive: " + e.getMessage(), e);
    }
    throw new IOException(tarball + " has no manifest.json: not a docker save tarball");
  }

  /** Checks {@code tarball}; INVALID_ARGUMENT naming what is wrong when it is not a sound {@code docker save} tarball. */
  public static Checked check(Path tarball) throws ContainerzError {
    Map<String, Entry> entries = new HashMap<>();
    Map<String, byte[]> small = new HashMap<>();
    try (InputStream file = new BufferedInputStream(Files.newInputStream(tarball), 1 << 16);
        TarArchiveInputStream tar = new TarArchiveInputStream(file)) {
      long kept = 0;
      byte[] buffer = new byte[1 << 16];
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        if (!e.isFile()) {
          continue;
        }
        String name = normal(e.getName());
        MessageDigest sha = sha256();
        ByteArrayOutputStream content = e.getSize() <= SMALL && kept + e.getSize() <= SMALL_TOTAL ? new ByteArrayOutputStream() : null;
        long size = 0;
        for (int n = tar.read(buffer); n >= 0; n = tar.read(buffer)) {
          sha.update(buffer, 0, n);
          size += n;
          if (content != null) {
            content.write(buffer, 0, n);
          }
        }
        entries.put(name, new Entry(size, HexFormat.of().formatHex(sha.digest())));
        if (content != null) {
          small.put(name, content.toByteArray());
          kept += size;
        }
      }
    } catch (IOException | IllegalArgumentException e) {
      throw refused("it cannot be read as a tar archive: " + e.getMessage());
    }
    for (Map.Entry<String, Entry> e : entries.entrySet()) {
      String name = e.getKey();
      if (name.startsWith("blobs/sha256/") && !name.substring("blobs/sha256/".length()).equals(e.getValue().sha256())) {
        throw refused(name + " does not hash to its name (sha256 " + e.getValue().sha256() + "): the upload is corrupt");
      }
    }
    JsonNode manifest = json(small, "manifest.json");
    if (!manifest.isArray() || manifest.isEmpty()) {
      throw refused("manifest.json lists no image");
    }
    String id = null;
    int layers = 0;
    for (JsonNode image : manifest) {
      String config = normal(image.path("Config").asText(""));
      Entry c = entries.get(config);
      if (config.isEmpty() || c == null) {
        throw refused("the config '" + config + "' named by manifest.json is not in the tarball");
      }
      if (config.matches("[0-9a-f]{64}\\.json") && !config.startsWith(c.sha256())) {
        throw refused(config + " does not hash to its name: the upload is corrupt");
      }
      for (JsonNode layer : image.path("Layers")) {
        if (!entries.containsKey(normal(layer.asText("")))) {
          throw refused("the layer '" + layer.asText("") + "' named by manifest.json is not in the tarball");
        }
        layers++;
      }
      id = id == null ? "sha256:" + c.sha256() : id;
    }
    if (small.containsKey("index.json")) {
      checkOciSizes(json(small, "index.json"), entries, small);
    }
    return new Checked(id, layers);
  }

  /** Each image manifest of the OCI index: its layers present with the size and digest it declares. */
  private static void checkOciSizes(JsonNode index, Map<String, Entry> entries, Map<String, byte[]> small) throws ContainerzError {
    for (JsonNode descriptor : index.path("manifests")) {
      String blob = blob(descriptor.path("digest").asText(""));
      if (blob == null || !small.containsKey(blob)) {
        continue; // a manifest for another platform, not in this tarball
      }
      for (JsonNode layer : json(small, blob).path("layers")) {
        String path = blob(layer.path("digest").asText(""));
        Entry e = path == null ? null : entries.get(path);
        if (e == null) {
          throw refused("the layer " + layer.path("digest").asText("") + " declared by " + blob + " is not in the tarball");
        }
        if (layer.has("size") && layer.path("size").asLong() != e.size()) {
          throw refused("the layer " + path + " is " + e.size() + " bytes, " + blob + " declares " + layer.path("size").asLong());
        }
      }
    }
  }

  private static String blob(String digest) {
    return digest.startsWith("sha256:") && digest.length() == 71 ? "blobs/sha256/" + digest.substring(7) : null;
  }

  private static JsonNode json(Map<String, byte[]> small, String name) throws ContainerzError {
    byte[] bytes = small.get(name);
    if (bytes == null) {
      throw refused(name + " is missing");
    }
    try {
      return JSON.readTree(bytes);
    } catch (IOException e) {
      throw refused(name + " is not JSON: " + e.getMessage());
    }
  }

  private static String normal(String name) {
    return name.startsWith("./") ? name.substring(2) : name;
  }

  private static ContainerzError refused(String why) {
    return new ContainerzError(Code.INVALID_ARGUMENT, "not an image tarball in docker save format: " + why);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
