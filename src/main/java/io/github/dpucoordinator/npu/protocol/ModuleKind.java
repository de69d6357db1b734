package io.github.dpucoordinator.npu.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * What a module transition does: {@code chassis module shutdown} (halt, then power off) or {@code startup} (power on,
 * then wait for the boot), or a named-pipe request to HALT, or to reboot COLD or WARM, with no power action after.
 * Journaled, shown and logged by its label ("shutdown", ...), as the strings of earlier versions were.
 */
public enum ModuleKind {
  SHUTDOWN("shutdown"), STARTUP("startup"), HALT("halt"), COLD("cold"), WARM("warm");

  private final String label;

  ModuleKind(String label) {
    this.label = label;
  }

  @JsonValue
  public String label() {
    return label;
  }

  /** The kind named {@code label}; null when there is none. */
  @JsonCreator
  public static ModuleKind of(String label) {
    return Arrays.stream(values()).filter(k -> k.label.equals(label)).findFirst().orElse(null);
  }

  /** A named-pipe request: the DPU is asked to HALT, or to reboot COLD or WARM, and no power action follows. */
  public boolean rebootOnly() {
    return this == HALT || this == COLD || this == WARM;
  }

  /** The gNOI method it asks the DPU for ("" for a shutdown, which halts with the configured method). */
  public String method() {
    return rebootOnly() ? name() : "";
  }

  /** Whether the DPU is administratively down after it (a refused transition changes nothing). */
  public boolean leavesDown() {
    return this == SHUTDOWN || this == HALT;
  }

  @Override
  public String toString() {
    return label;
  }
}
