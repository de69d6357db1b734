package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.util.Optional;

/**
 * What a service that restarts in phase Reboot does about the reboot action it had issued, from the evidence
 * it has: the action's return on record (journaled, or the return file its wrapper leaves when this service is
 * gone by then) and this host's boot id now against the one journaled with the action.
 *
 * <ul>
 *   <li>It returned: never run again; the campaign goes on with how it returned.
 *   <li>The boot id changed: the host rebooted; the campaign goes on to PostReboot.
 *   <li>Same boot, no return: this service died before or while running it. It is run again, once per boot
 *       ({@code reboot.after-interruption = run-again}), or recorded as not done ({@code report}). A campaign from a
 *       journal written before returns were journaled is never run again: its action may have returned.
 *   <li>No boot id to compare: nothing tells whether the host rebooted, so the action is not run again.
 * </ul>
 */
sealed interface RebootRecovery {

  /** Go on to PostReboot with this result of the action. */
  record Settle(StepResult result) implements RebootRecovery {}

  /** Run the action once more; {@code why} goes into the campaign's record. */
  record RunAgain(String why, String bootId) implements RebootRecovery {}

  static RebootRecovery decide(Campaign c, String bootIdNow, Optional<StepResult> returnedWhileDown, boolean runInterruptedAgain) {
    boolean known = !c.hostBootId().isEmpty() && !bootIdNow.isEmpty();
    boolean rebooted = known && !c.hostBootId().equals(bootIdNow);
    String sameBoot = known ? " (this host did not reboot: same boot id " + bootIdNow + ")" : "";
    if (rebooted) {
      return new Settle(new StepResult("reboot", true, "this host rebooted (boot id " + c.hostBootId() + " -> " + bootIdNow + ")", 0));
    }
    StepResult returned = c.rebootAction().returned();
    if (returned != null) {
      return new Settle(new StepResult("reboot", returned.ok(), join(returned.detail(), "the action returned before this service "
          + "restarted; it is not run twice" + sameBoot), returned.millis()));
    }
    if (returnedWhileDown.isPresent()) {
      StepResult r = returnedWhileDown.get();
      return new Settle(new StepResult("reboot", r.ok(), join(r.detail(), "it is not run twice" + sameBoot), r.millis()));
    }
    if (!known) {
      return new Settle(new StepResult("reboot", false, "the service restarted after the reboot action was issued and this host gives "
          + "no boot id to tell whether it rebooted: the action is not run again", 0));
    }
    if (!c.rebootAction().tracked()) {
      return new Settle(new StepResult("reboot", false, "the service restarted on the same boot (boot id " + bootIdNow + ") after the "
          + "reboot action was issued by a version that did not journal its return: it may have run, so it is not run again", 0));
    }
    String interrupted = "the service restarted on the same boot (boot id " + bootIdNow + ") with no return of the action on record";
    if (c.rebootAction().rerunOnBoot().equals(bootIdNow)) {
      return new Settle(new StepResult("reboot", false, interrupted + " after running it once more on this boot: it is not run a "
          + "third time", 0));
    }
    if (runInterruptedAgain) {
      return new RunAgain(interrupted, bootIdNow);
    }
    return new Settle(new StepResult("reboot", false, interrupted + ": this host did not reboot and the action is not run again ("
        + NpuSettings.Reboot.AFTER_INTERRUPTION + " = report)", 0));
  }

  private static String join(String a, String b) {
    return a.isEmpty() ? b : a + "; " + b;
  }
}
