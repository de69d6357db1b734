package io.github.dpucoordinator.npu.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This host's boot id (Linux: a new random one at every boot), "" where the system does not say. */
final class HostBootId {
  private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

  private HostBootId() {}

  static String read() {
    try {
      return Files.readString(BOOT_ID).strip();
    } catch (IOException | SecurityException e) {
      return "";
    }
  }
}
