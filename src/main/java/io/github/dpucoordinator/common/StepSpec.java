package io.github.dpucoordinator.common;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/**
 * One step of an ordered procedure (a DPU's graceful shutdown, the NPU's pre-reboot tasks): either a
 * shell command run through {@code sh -c} with its own timeout, or a simulated piece of work that
 * just takes {@code duration}.
 */
public record StepSpec(String name, String command, Duration timeout, Duration simulated) {

  public static StepSpec command(String name, String command, Duration timeout) {
    return new StepSpec(name, command, timeout, Duration.ZERO);
  }

  public static StepSpec simulated(String name, Duration duration) {
    return new StepSpec(name, "", Duration.ZERO, duration);
  }

  public boolean isSimulated() {
    return command.isEmpty();
  }

  /** Reads a list of {@code {name, command, timeout}} or {@code {name, simulate}} objects. */
  public static List<StepSpec> listFrom(Config config, String path) {
    return config.getConfigList(path).stream().map(StepSpec::from).toList();
  }

  private static StepSpec from(Config c) {
    String name = c.getString("name");
    if (c.hasPath("simulate")) {
      return simulated(name, c.getDuration("simulate"));
    }
    if (!c.hasPath("command") || c.getString("command").isBlank()) {
      throw new IllegalArgumentException("step '" + name + "' needs a 'command' or a 'simulate' duration");
    }
    return command(name, c.getString("command"), c.getDuration("timeout"));
  }
}
