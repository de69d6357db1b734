package io.github.dpucoordinator.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** Checks of option values that picocli's types cannot express; a failed one is a usage error (exit 2). */
final class Options {
  private Options() {}

  static void require(CommandSpec spec, boolean ok, String message) {
    if (!ok) {
      throw new ParameterException(spec.commandLine(), message);
    }
  }

  /** Runs {@code check}; its IllegalArgumentException becomes a usage error with the same message. */
  static <T> T parse(CommandSpec spec, java.util.function.Supplier<T> check) {
    try {
      return check.get();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }
}
