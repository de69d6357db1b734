package io.github.dpucoordinator.npu.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * What the NPU's own reboot is: {@code cold} (its DPUs shut down first), {@code warm} (the DPUs keep power: gNOI DPUs
 * are not halted, the seed's protocol DPUs run their tenant cleanup) or {@code power-off}. Journaled, shown, logged
 * and handed to the reboot command by its label, as the strings of earlier versions were.
 */
public enum CampaignKind {
  COLD("cold"), WARM("warm"), POWER_OFF("power-off");

  private final String label;

  CampaignKind(String label) {
    this.label = label;
  }

  @JsonValue
  public String label() {
    return label;
  }

  /** The kind named {@code label}; null when there is none. */
  @JsonCreator
  public static CampaignKind of(String label) {
    return Arrays.stream(values()).filter(k -> k.label.equals(label)).findFirst().orElse(null);
  }

  /**
   * The kind an operator asked for ({@code reboot --kind}): blank is cold; case and surrounding blanks do not matter.
   * Null when there is no such kind ({@link #unknown} says why).
   */
  public static CampaignKind parse(String asked) {
    return asked == null || asked.isBlank() ? COLD : of(asked.trim().toLowerCase());
  }

  /** Why {@code asked} is not a kind. */
  public static String unknown(String asked) {
    return "unknown reboot kind '" + asked + "'; expected one of cold, warm, power-off";
  }

  @Override
  public String toString() {
    return label;
  }
}
