package io.github.dpucoordinator.npu.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

/** The wording of other gNOI DPUs (and of this project's earlier agents) that the NPU reads where no field says it. */
class GnoiTextTest {

  @Test
  void sonicsRebootInProgressIsAnInvalidArgumentThatSaysSo() {
    assertTrue(GnoiText.inProgress(Status.INVALID_ARGUMENT.withDescription("Previous reboot is ongoing: reboot in progress")));
    assertFalse(GnoiText.inProgress(Status.INVALID_ARGUMENT.withDescription("invalid reboot method")));
    assertFalse(GnoiText.inProgress(Status.UNAVAILABLE.withDescription("reboot in progress")));
  }

  @Test
  void anEarlierAgentsProtectiveRefusalNamesTheStateInItsDescription() {
    assertEquals("crash-dump: kdump", GnoiText.protectiveRefusal(Status.UNAVAILABLE.withDescription("protective state crash-dump: kdump")));
    assertNull(GnoiText.protectiveRefusal(Status.UNAVAILABLE.withDescription("io exception")));
    assertNull(GnoiText.protectiveRefusal(Status.INTERNAL.withDescription("protective state crash-dump: kdump")));
  }

  @Test
  void failedStepsAreReadFromTheEndOfTheMessageOrAreNone() {
    assertEquals("a (exit 1), b", GnoiText.failedSteps("Halt reboot completed; failed steps: a (exit 1), b"));
    assertEquals("", GnoiText.failedSteps("Halt reboot completed"));
  }
}
