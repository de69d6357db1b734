package io.github.dpucoordinator.offloader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.github.dpucoordinator.common.AppConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The offloader's settings: the shipped defaults work, and settings that cannot work together are refused naming the keys. */
class OffloaderSettingsTest {
  private static Config with(String hocon) {
    return ConfigFactory.parseString(hocon).withFallback(AppConfig.load()).resolve();
  }

  private static String refused(String hocon) {
    return assertThrows(IllegalArgumentException.class, () -> OffloaderSettings.of(with(hocon))).getMessage();
  }

  @Test
  void theDefaultsWorkAndAContainerEntryIsRead() {
    OffloaderSettings s = OffloaderSettings.of(with("dpu-coordinator.offloader.containers = [{name = db, image = \"sonic/database\","
        + " env {A = 1}, ports = [\"6379\"], restart = always, health {port = 6379}}]"));
    assertEquals("127.0.0.1:50101", s.npuAddress());
    ContainerDef db = s.containers().get(0);
    assertEquals(List.of("db", "sonic/database", "match-dpu", Map.of("A", "1"), List.of("6379"), "always", 6379),
        List.of(db.name(), db.image(), db.versionPolicy(), db.env(), db.ports(), db.restart(), db.healthPort()));
    assertEquals("2.0", db.tagFor("2.0"));
    assertEquals(Map.of("dpu", "DPU7", "offloaded-by", "dpu-offloader"), db.labelsFor("DPU7"));
  }

  @Test
  void settingsThatCannotWorkTogetherAreRefusedNamingTheKeys() {
    String k = "dpu-coordinator.offloader.";
    assertTrue(refused(k + "upgrade.min-healthy = 1s\n" + k + "health.interval = 5s").contains(k + "upgrade.min-healthy"));
    assertTrue(refused(k + "upgrade.deadline = 5s\n" + k + "upgrade.min-healthy = 10s").contains(k + "upgrade.deadline"));
    assertTrue(refused(k + "health.tcp-timeout = 10s").contains(k + "health.tcp-timeout"));
    assertTrue(refused(k + "restart.max-delay = 10ms").contains(k + "restart.max-delay"));
    assertTrue(refused(k + "restart.jitter = 1.5").contains(k + "restart.jitter"));
    assertTrue(refused(k + "upgrade.order = [nope]").contains("'nope', which is not in " + k + "containers"));
    assertTrue(refused(k + "containers = [{name = db, image = \"sonic/database:1.0\"}]").contains(k + "containers[0].image"));
    assertTrue(refused(k + "containers = [{name = db, image = x, restart = sometimes}]").contains(k + "containers[0].restart"));
    assertTrue(refused(k + "containers = [{name = db, image = x}, {name = db, image = y}]").contains("names 'db' twice"));
    assertTrue(refused(k + "npu-address = nowhere").contains(k + "npu-address"));
  }
}
