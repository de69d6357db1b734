package io.github.dpucoordinator.npu.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Reads journals written by the two earlier layouts of the NPU's classes, which name classes that have moved since:
 * <ul>
 *   <li>before the classes moved into packages by feature, {@code io.github.dpucoordinator.npu.CampaignEvent$...} and
 *       {@code ...npu.CoordinatorState};</li>
 *   <li>before module transitions and DPU-initiated reboots had entities of their own, their events were
 *       {@code ...npu.coordinator.CampaignEvent$Module...}, {@code $DpuReboot...} and {@code $UnplannedEvent}: they are
 *       now {@code npu.module.ModuleEvent$...} and {@code npu.notice.NoticeEvent$...}, unchanged otherwise.</li>
 * </ul>
 * Registered for each old name under {@code pekko.serialization.jackson.migrations}; what is written from now on names
 * the new classes and needs none. Such events still sit in the coordinator's journal: its entity folds them into its
 * state, and the chassis hands what is still open to their own entities once.
 */
public final class FlatLayoutMigration extends JacksonMigration {
  /** Where the journaled classes lived before. */
  public static final String FLAT_PACKAGE = "io.github.dpucoordinator.npu.";

  private static final String PACKAGE = FlatLayoutMigration.class.getPackageName() + ".";

  /** The events that are module transitions' now. */
  static final Set<String> MODULE_EVENTS = Set.of("ModuleTransitionStarted", "ModuleHaltAcknowledged", "ModuleHalted",
      "ModulePowerIssued", "ModulePoweredOn", "ModuleTransitionFinished");

  /** The events that are DPU-initiated reboots' now. */
  static final Set<String> NOTICE_EVENTS = Set.of("DpuRebootNoticed", "DpuRebootAnswered", "DpuRebootPostponedOnDpu",
      "DpuRebootGoing", "DpuRebootFinished", "UnplannedEvent");

  @Override
  public int currentVersion() {
    return 2; // the old manifests carry no version, which reads as 1: every one of them is moved
  }

  @Override
  public String transformClassName(int fromVersion, String className) {
    String simple = className.startsWith(PACKAGE) ? className.substring(PACKAGE.length())
        : className.startsWith(FLAT_PACKAGE) ? className.substring(FLAT_PACKAGE.length()) : null;
    if (simple == null) {
      return className;
    }
    String event = simple.startsWith("CampaignEvent$") ? simple.substring("CampaignEvent$".length()) : "";
    if (MODULE_EVENTS.contains(event)) {
      return "io.github.dpucoordinator.npu.module.ModuleEvent$" + event;
    }
    if (NOTICE_EVENTS.contains(event)) {
      return "io.github.dpucoordinator.npu.notice.NoticeEvent$" + event;
    }
    return PACKAGE + simple;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    return json; // the classes moved; their fields did not change
  }
}
