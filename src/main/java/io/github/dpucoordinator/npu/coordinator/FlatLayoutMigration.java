package io.github.dpucoordinator.npu.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Reads a journal written before the NPU's classes moved into packages by feature: its events and snapshots name
 * {@code io.github.dpucoordinator.npu.CampaignEvent$...} and {@code ...npu.CoordinatorState}, which are the same
 * classes, unchanged, in this package now. Registered for each old name under
 * {@code pekko.serialization.jackson.migrations}; what is written from now on names the new classes and needs none.
 */
public final class FlatLayoutMigration extends JacksonMigration {
  /** Where the journaled classes lived before. */
  public static final String FLAT_PACKAGE = "io.github.dpucoordinator.npu.";

  @Override
  public int currentVersion() {
    return 2; // the old manifests carry no version, which reads as 1: every one of them is moved
  }

  @Override
  public String transformClassName(int fromVersion, String className) {
    return className.startsWith(FLAT_PACKAGE)
        ? FlatLayoutMigration.class.getPackageName() + "." + className.substring(FLAT_PACKAGE.length())
        : className;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    return json; // the classes moved; their fields did not change
  }
}
