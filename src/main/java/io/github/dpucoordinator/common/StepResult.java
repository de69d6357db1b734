package io.github.dpucoordinator.common;

/**
 * How one step went: {@code ok} is false when it failed, timed out or could not start; {@code exitCode} is the
 * process's exit code when it ran and exited (null otherwise: simulated, timed out, could not run; and in journals
 * written before the field existed).
 */
public record StepResult(String name, boolean ok, String detail, long millis, Integer exitCode) implements CborSerializable {

  public StepResult(String name, boolean ok, String detail, long millis) {
    this(name, ok, detail, millis, null);
  }

  /** It ran and exited with {@code code}. */
  public boolean exited(int code) {
    return exitCode != null && exitCode == code;
  }
}
