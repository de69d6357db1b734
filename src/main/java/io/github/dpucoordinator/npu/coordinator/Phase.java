package io.github.dpucoordinator.npu.coordinator;

/** The NPU's states from seed 000's NPU state machine. */
public enum Phase {
  IDLE("Idle"),
  PREPARE_FOR_REBOOT("PrepareForReboot"),
  NOTIFY_DPUS("NotifyDPUs"),
  WAIT_FOR_ACKNOWLEDGMENTS("WaitForAcknowledgments"),
  PROCEED_WITH_REBOOT("ProceedWithReboot"),
  ERROR_LOGGING("ErrorLogging"),
  REBOOT("Reboot"),
  POST_REBOOT("PostReboot");

  private final String display;

  Phase(String display) {
    this.display = display;
  }

  public String display() {
    return display;
  }
}
