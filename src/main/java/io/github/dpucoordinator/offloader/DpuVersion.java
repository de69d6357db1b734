package io.github.dpucoordinator.offloader;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The DPU's SONiC version: {@code build_version} of the version file when it is there, else the configured one. */
final class DpuVersion {
  private DpuVersion() {}

  static String read(OffloaderSettings s) {
    return read(s, s.configuredVersion());
  }

  /**
   * As {@link #read(OffloaderSettings)}, except that a version file which exists but names no version (caught while it
   * is being rewritten: truncated, or half written) gives {@code meanwhile}, the version known so far, and not the
   * configured fallback: a rewrite of the file is no downgrade.
   */
  static String read(OffloaderSettings s, String meanwhile) {
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
        return meanwhile;
      }
      return meanwhile;
    }
    return s.configuredVersion();
  }
}
