package io.github.dpucoordinator.offloader;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.dpucoordinator.common.AppConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DPU's version from SONiC's version file, as the offloader reads it every tick. */
class DpuVersionTest {

  private static OffloaderSettings settings(Path file) {
    return OffloaderSettings.of(AppConfig.with(AppConfig.with(AppConfig.load(), OffloaderSettings.KEY + ".version-file", file.toString()),
        OffloaderSettings.KEY + ".dpu-version", "1.0"));
  }

  @Test
  void aVersionFileCaughtWhileItIsRewrittenIsNoDowngrade(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("sonic_version.yml");
    OffloaderSettings s = settings(file);
    assertEquals("1.0", DpuVersion.read(s, "2.0"), "no file: the configured version");
    Files.writeString(file, "build_version: '2.0'\nasic_type: vs\n");
    assertEquals("2.0", DpuVersion.read(s, "1.0"));
    Files.writeString(file, ""); // truncated by a rewrite, not yet written: seen in CI as a spurious 2.0 -> 1.0 -> 3.0
    assertEquals("2.0", DpuVersion.read(s, "2.0"), "the version known so far");
    Files.writeString(file, "asic_type: vs\nbuild_ver");
    assertEquals("2.0", DpuVersion.read(s, "2.0"));
    Files.writeString(file, "build_version: '3.0'\n");
    assertEquals("3.0", DpuVersion.read(s, "2.0"));
  }
}
