package io.github.dpucoordinator.offloader;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The DPU's SONiC version: {@code build_version} of the version file when it is there, else the configured one. */
final class DpuVersion {
  private DpuVersion() {}

  static String read(OffloaderSettings s) {
    Path file = s.versionFile();
    if (Files.isRegularFile(file)) {
      try {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          String t = line.trim();
          if (t.startsWith("build_version:")) {
            String v = t.substring("build_version:".length()).trim().replaceAll("^['\"]|['\"]$", "");
            if (!v.isEmpty()) {
              return v;
            }
          }
        }
      } catch (IOException unreadable) {
        return s.configuredVersion();
      }
    }
    return s.configuredVersion();
  }
}
