package io.github.dpucoordinator.npu.settings;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.StepSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What the NPU negotiates with its DPUs beyond the seed's signal: DPU-initiated reboots (hooks and
 * postponement), DEFER and protective-state caps, escalation to a force action, the watcher of
 * unplanned events, and the reboot command per campaign kind.
 *
 * @param postponeExitCode a pre-DPU-reboot hook exiting with this code asks the DPU to wait
 * @param forceCommands per-DPU force actions ({@code dpus[].force-command}); the rest use {@code forceCommand}
 */
public record NegotiationSettings(String identity, String dpuApiHost, int dpuApiPort, List<StepSpec> dpuRebootHooks,
    int postponeExitCode, Duration postponeFor, Duration maxPostponeTotal, Duration answerWithin, Duration deferMaxTotal,
    Duration protectiveMaxWait, String protectiveAtCap, Duration protectiveRecheck, String forceCommand,
    Duration forceTimeout, Map<String, String> forceCommands, boolean watchEnabled, Duration watchInterval, int watchGoneAfter,
    String warmCommand, String powerOffCommand) {

  static NegotiationSettings from(Config c) {
    Map<String, String> force = new java.util.LinkedHashMap<>();
    for (Config d : c.getConfigList("dpus")) {
      if (d.hasPath("force-command")) {
        force.put(d.getString("id"), d.getString("force-command"));
      }
    }
    return new NegotiationSettings(c.getString("identity"), c.getString("dpu-api.host"), c.getInt("dpu-api.port"),
        StepSpec.listFrom(c, "dpu-reboot.hooks"), c.getInt("dpu-reboot.postpone-exit-code"),
        c.getDuration("dpu-reboot.postpone-for"), c.getDuration("dpu-reboot.max-postpone-total"),
        c.getDuration("dpu-reboot.answer-within"), c.getDuration("defer.max-total"), c.getDuration("protective.max-wait"),
        c.getString("protective.at-cap"), c.getDuration("protective.recheck-interval"), c.getString("escalation.force-command"),
        c.getDuration("escalation.command-timeout"), Map.copyOf(force), c.getBoolean("watch.enabled"),
        c.getDuration("watch.interval"), c.getInt("watch.gone-after"), c.getString("reboot.warm-command"),
        c.getString("reboot.power-off-command"));
  }

  /** The force action of one DPU ({dpu} replaced by its id); empty = dry run. */
  public String forceCommandFor(String dpuId) {
    return forceCommands.getOrDefault(dpuId, forceCommand).replace("{dpu}", dpuId);
  }

  public boolean abortAtProtectiveCap() {
    return protectiveAtCap.equals("abort");
  }

  public NegotiationSettings withWatch(boolean enabled, Duration interval) {
    return new NegotiationSettings(identity, dpuApiHost, dpuApiPort, dpuRebootHooks, postponeExitCode, postponeFor, maxPostponeTotal,
        answerWithin, deferMaxTotal, protectiveMaxWait, protectiveAtCap, protectiveRecheck, forceCommand, forceTimeout,
        forceCommands, enabled, interval, watchGoneAfter, warmCommand, powerOffCommand);
  }

  public NegotiationSettings withDpuRebootHooks(List<StepSpec> hooks) {
    return new NegotiationSettings(identity, dpuApiHost, dpuApiPort, List.copyOf(hooks), postponeExitCode, postponeFor, maxPostponeTotal,
        answerWithin, deferMaxTotal, protectiveMaxWait, protectiveAtCap, protectiveRecheck, forceCommand, forceTimeout,
        forceCommands, watchEnabled, watchInterval, watchGoneAfter, warmCommand, powerOffCommand);
  }

  void validate() {
    String k = "dpu-coordinator.npu.";
    if (!NpuSettings.positive(postponeFor) || !NpuSettings.positive(maxPostponeTotal) || !NpuSettings.positive(answerWithin) || deferMaxTotal.isNegative()
        || protectiveMaxWait.isNegative() || !NpuSettings.positive(protectiveRecheck) || !NpuSettings.positive(forceTimeout) || !NpuSettings.positive(watchInterval)) {
      throw new IllegalArgumentException(k + "dpu-reboot.postpone-for, max-postpone-total, answer-within, protective.recheck-interval, "
          + "escalation.command-timeout and watch.interval must be positive; defer.max-total and protective.max-wait not negative");
    }
    if (postponeFor.compareTo(maxPostponeTotal) > 0) {
      throw new IllegalArgumentException(k + "dpu-reboot.postpone-for (" + postponeFor.toMillis() + " ms) exceeds " + k
          + "dpu-reboot.max-postpone-total (" + maxPostponeTotal.toMillis() + " ms): one postponement would break the cap");
    }
    long hooks = dpuRebootHooks.stream().mapToLong(t -> t.isSimulated() ? t.simulated().toMillis() : t.timeout().toMillis()).sum();
    if (hooks > answerWithin.toMillis()) {
      throw new IllegalArgumentException("the pre-DPU-reboot hooks (" + k + "dpu-reboot.hooks) may take " + hooks + " ms, more than "
          + k + "dpu-reboot.answer-within (" + answerWithin.toMillis() + " ms): a DPU would stop waiting for the answer first");
    }
    if (!protectiveAtCap.equals("proceed") && !protectiveAtCap.equals("abort")) {
      throw new IllegalArgumentException(k + "protective.at-cap must be proceed or abort, not '" + protectiveAtCap + "'");
    }
    if (watchGoneAfter < 1) {
      throw new IllegalArgumentException(k + "watch.gone-after must be at least 1");
    }
  }
}
