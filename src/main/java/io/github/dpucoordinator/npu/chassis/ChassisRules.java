package io.github.dpucoordinator.npu.chassis;

import io.github.dpucoordinator.npu.coordinator.CoordinatorState;
import io.github.dpucoordinator.npu.coordinator.Phase;
import io.github.dpucoordinator.npu.module.ModuleBook;
import io.github.dpucoordinator.npu.module.ModuleState;
import io.github.dpucoordinator.npu.notice.NoticeBook;
import java.util.List;

/**
 * The rules between the NPU's aggregates, in one place: what campaigns, module transitions and DPU-initiated reboots
 * may do given the others' states. Pure: each rule reads the three entities' latest states ({@link Views}); the
 * {@link Chassis} applies them as requests come in.
 */
final class ChassisRules {
  private ChassisRules() {}

  /** The three entities' latest states, as the chassis last heard them. */
  record Views(CoordinatorState campaigns, ModuleBook modules, NoticeBook notices) {}

  /**
   * Why a campaign may not start now (null: it may). A campaign in flight is the campaign entity's own refusal; here:
   * DPUs in a module transition, and DPUs rebooting on their own (one administratively down does not count).
   */
  static String campaignBlocked(Views v) {
    if (v.campaigns().phase() != Phase.IDLE) {
      return null; // the campaign entity says which campaign is in flight
    }
    List<String> busy = v.modules().modules().values().stream().filter(m -> m.transition() != null)
        .map(m -> m.dpuId() + " (" + m.transition().kind() + " " + m.transition().id() + ", " + m.transition().phase() + ")").toList();
    if (!busy.isEmpty()) {
      return "DPUs in a module transition: " + String.join(", ", busy) + "; the campaign would touch them, try again when they have finished";
    }
    List<String> rebooting = v.notices().notices().values().stream().filter(n -> !v.modules().down(n.dpuId()))
        .map(n -> n.dpuId() + " (" + n.describe() + ")").toList();
    if (!rebooting.isEmpty()) {
      return "DPUs rebooting on their own: " + String.join(", ", rebooting)
          + "; try again when they are back (their wait is bounded by their hard deadline and boot wait)";
    }
    return null;
  }

  /** Why a module transition of {@code dpuId} may not start now (null: it may, as far as campaigns go). */
  static String transitionBlocked(Views v, String dpuId) {
    CoordinatorState c = v.campaigns();
    if (c.phase() == Phase.IDLE) {
      return null;
    }
    // The NPU itself is about to reboot (or just did): no single-DPU transition meanwhile, in the campaign or not.
    return "campaign " + c.current().id() + " is in progress (phase " + c.phase().display() + ")"
        + (c.current().dpus().containsKey(dpuId) ? " and involves " + dpuId : "") + "; module transitions wait until it has finished";
  }

  /** Why a DPU that announces its own reboot should wait because the NPU itself works on it; null if it does not. */
  static String busy(Views v, String dpuId) {
    CoordinatorState c = v.campaigns();
    if (c.current() != null && c.current().dpus().containsKey(dpuId)) {
      return "NPU campaign " + c.current().id() + " is in progress (phase " + c.phase().display() + ")";
    }
    ModuleState m = v.modules().modules().get(dpuId);
    if (m != null && m.transition() != null) {
      return "module " + m.transition().kind() + " " + m.transition().id() + " is in progress";
    }
    return null;
  }

  /** What planned explains a change of {@code dpuId} seen by its idle actor; null: nothing, it is unplanned. */
  static String planned(Views v, String dpuId) {
    CoordinatorState c = v.campaigns();
    if (c.current() != null && c.current().dpus().containsKey(dpuId)) {
      return "campaign " + c.current().id();
    }
    ModuleState m = v.modules().modules().get(dpuId);
    if (m != null && (m.transition() != null || m.down())) {
      return "module transition or administratively down";
    }
    if (v.notices().notices().containsKey(dpuId)) {
      return "DPU-initiated reboot " + v.notices().notices().get(dpuId).id();
    }
    return null;
  }
}
