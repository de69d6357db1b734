package io.github.dpucoordinator.cli;

/** Exit codes of every dpuctl command (also listed in the README and in --help). */
public final class ExitCodes {
  private ExitCodes() {}

  /** Done; for a campaign: every DPU shut down cleanly and came back. */
  public static final int OK = 0;
  /**
   * The campaign finished degraded (a DPU failed, timed out, had a failed step or did not come back), or
   * a waited-for chassis module transition did not end ok.
   */
  public static final int DEGRADED = 1;
  /** Bad command line (picocli's usage error). */
  public static final int USAGE = 2;
  /** Refused: a campaign (or a DPU reboot notice) is already in flight, or the request was invalid. */
  public static final int REFUSED = 3;
  /** The NPU service's admin API (or, for the dpu-* commands, the DPU agent) could not be reached. */
  public static final int UNREACHABLE = 4;
  /** The service could not start: port in use, data dir locked or unwritable, invalid configuration. */
  public static final int STARTUP_FAILED = 5;

  public static final String HELP = "%nExit codes: 0 ok, 1 campaign degraded or module transition not ok, 2 usage error, "
      + "3 refused, 4 admin API (dpu-*: agent) unreachable, 5 startup failed.";
}
