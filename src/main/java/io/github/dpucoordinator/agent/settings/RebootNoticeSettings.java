package io.github.dpucoordinator.agent.settings;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a DPU-initiated reboot is negotiated with the NPU: {@code dpu-coordinator.agent.npu-address} and
 * the {@code dpu-coordinator.agent.reboot-notice} section. Checked once at start, because a cap that
 * exceeds the deadline it caps would silently turn a negotiation into a plain timeout.
 *
 * @param npuAddress host:port of the NPU's DpuRebootNotices API; empty = no NPU, the DPU reboots at once
 */
public record RebootNoticeSettings(
    String npuAddress,
    Duration defaultDeadline,
    Duration noticeTimeout,
    Duration retryInterval,
    Duration maxPostponePerRequest,
    Duration maxPostponeTotal,
    List<String> allowedPostponers) {

  private static final String SECTION = "dpu-coordinator.agent.reboot-notice.";
  private static final Pattern ADDRESS = Pattern.compile("^(\\[[^\\]]+\\]|[^:\\[\\]]+):([1-9][0-9]{0,4})$");

  public RebootNoticeSettings {
    allowedPostponers = List.copyOf(allowedPostponers);
    positive("default-deadline", defaultDeadline);
    positive("notice-timeout", noticeTimeout);
    positive("retry-interval", retryInterval);
    positive("max-postpone-per-request", maxPostponePerRequest);
    positive("max-postpone-total", maxPostponeTotal);
    if (maxPostponePerRequest.compareTo(maxPostponeTotal) > 0) {
      throw new IllegalArgumentException(SECTION + "max-postpone-per-request (" + maxPostponePerRequest.toMillis()
          + " ms) must not exceed " + SECTION + "max-postpone-total (" + maxPostponeTotal.toMillis() + " ms)");
    }
    if (maxPostponeTotal.compareTo(defaultDeadline) >= 0) {
      throw new IllegalArgumentException(SECTION + "max-postpone-total (" + maxPostponeTotal.toMillis()
          + " ms) must be shorter than " + SECTION + "default-deadline (" + defaultDeadline.toMillis()
          + " ms): the hard deadline would end every postponement");
    }
    Matcher address = ADDRESS.matcher(npuAddress);
    if (!npuAddress.isEmpty() && (!address.matches() || Integer.parseInt(address.group(2)) > 65535)) {
      throw new IllegalArgumentException("dpu-coordinator.agent.npu-address '" + npuAddress + "' is not HOST:PORT");
    }
    if (noticeTimeout.compareTo(defaultDeadline) >= 0) {
      throw new IllegalArgumentException(SECTION + "notice-timeout (" + noticeTimeout.toMillis() + " ms) must be shorter than "
          + SECTION + "default-deadline (" + defaultDeadline.toMillis() + " ms)");
    }
  }

  /** Reads {@code npu-address} and {@code reboot-notice} from the agent section. */
  static RebootNoticeSettings create(Config agent) {
    Config c = agent.getConfig("reboot-notice");
    return new RebootNoticeSettings(
        agent.getString("npu-address").strip(),
        c.getDuration("default-deadline"),
        c.getDuration("notice-timeout"),
        c.getDuration("retry-interval"),
        c.getDuration("max-postpone-per-request"),
        c.getDuration("max-postpone-total"),
        io.github.dpucoordinator.common.AppConfig.names(c, "allowed-postponers"));
  }

  public boolean hasNpu() {
    return !npuAddress.isEmpty();
  }

  public String npuHost() {
    Matcher m = ADDRESS.matcher(npuAddress);
    m.matches();
    return m.group(1).replace("[", "").replace("]", "");
  }

  public int npuPort() {
    Matcher m = ADDRESS.matcher(npuAddress);
    m.matches();
    return Integer.parseInt(m.group(2));
  }

  public boolean allowedToPostpone(String identity) {
    return allowedPostponers.contains(identity);
  }

  public RebootNoticeSettings withNpuAddress(String address) {
    return new RebootNoticeSettings(address, defaultDeadline, noticeTimeout, retryInterval, maxPostponePerRequest,
        maxPostponeTotal, allowedPostponers);
  }

  /** A list, or (from an environment variable) one comma-separated string. */
  private static void positive(String key, Duration d) {
    if (d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(SECTION + key + " must be a positive duration, not " + d.toMillis() + " ms");
    }
  }
}
