package io.github.dpucoordinator.npu.containerz.process;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.dpucoordinator.npu.containerz.ContainerSpec;
import io.github.dpucoordinator.npu.containerz.process.RootFs.ImageConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * What the process runtime keeps of a container in {@code <dir>/record.json}, written whole and renamed into place:
 * its spec and the image's config (so that it starts again after the service restarts without unpacking anything),
 * when it was made, whether a user stopped it (UNLESS_STOPPED), and its last process (pid and start time, so that
 * one a killed service left behind is found and ended).
 */
record ContainerRecord(String id, ContainerSpec spec, ImageConfig image, long createdMillis, boolean stoppedByUser, long pid,
    long pidStartMillis) {
  private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  static final String FILE = "record.json";

  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  /** A new container's id: 32 random bytes in hex, as Docker's. */
  static String newId() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return java.util.HexFormat.of().formatHex(b);
  }

  ContainerRecord withStoppedByUser(boolean stopped) {
    return new ContainerRecord(id, spec, image, createdMillis, stopped, pid, pidStartMillis);
  }

  ContainerRecord withProcess(long processId, long startMillis) {
    return new ContainerRecord(id, spec, image, createdMillis, stoppedByUser, processId, startMillis);
  }

  void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path temp = dir.resolve(FILE + ".tmp");
    Files.write(temp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this));
    Files.move(temp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  static ContainerRecord read(Path dir) throws IOException {
    return JSON.readValue(dir.resolve(FILE).toFile(), ContainerRecord.class);
  }
}
