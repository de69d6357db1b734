package io.github.dpucoordinator.cli;

import io.github.dpucoordinator.common.UtcTime;
import io.github.dpucoordinator.proto.agentctl.HoldStatus;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "dpu-hold", mixinStandardHelpOptions = true, footer = ExitCodes.HELP,
    description = {"Hold this DPU back (run on the DPU, against its agent):",
        "  firmware-update, crash-dump  a protective state: the DPU must not be powered off or reset; its shutdown waits "
            + "and gNOI reboots are refused (--for D: clears itself after D; default until cleared)",
        "  defer   answer the NPU's host reboots DEFERRED for --for D (capped by dpu-coordinator.agent.max-defer)",
        "  clear   clear both"})
final class DpuHoldCommand implements Callable<Integer> {
  private static final Set<String> HOLDS = Set.of("firmware-update", "crash-dump", "defer", "clear");

  @Parameters(index = "0", paramLabel = "HOLD", description = "firmware-update, crash-dump, defer or clear.")
  String hold;

  @Option(names = "--reason", paramLabel = "R", defaultValue = "operator request", description = "Why (the NPU sees it).")
  String reason;

  @Option(names = "--for", paramLabel = "D", description = "How long: 90s, 10m, or milliseconds.")
  String duration;

  @Mixin
  AgentTarget target = new AgentTarget();

  @Override
  public Integer call() {
    if (!HOLDS.contains(hold)) {
      System.err.println("dpuctl dpu-hold: unknown hold '" + hold + "'; expected firmware-update, crash-dump, defer or clear");
      return ExitCodes.USAGE;
    }
    if (hold.equals("defer") && duration == null) {
      System.err.println("dpuctl dpu-hold: defer needs --for D (how long host reboots are deferred)");
      return ExitCodes.USAGE;
    }
    long durationMs;
    try {
      durationMs = duration == null ? 0 : AgentControlClient.duration("--for", duration).toMillis();
    } catch (IllegalArgumentException e) {
      System.err.println("dpuctl dpu-hold: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    return AgentControlClient.run("dpu-hold", target.agent, target.id, (client, config) -> {
      HoldStatus s = client.setHold(hold, reason, durationMs);
      if (!s.getAccepted()) {
        System.err.println("dpuctl dpu-hold: refused: " + s.getMessage());
        return ExitCodes.REFUSED;
      }
      System.out.println(s.getMessage());
      System.out.println("protective: " + (s.getProtective().isEmpty() ? "none"
          : s.getProtective() + " (" + s.getProtectiveReason() + ") since " + UtcTime.of(s.getProtectiveSinceUnixMs())
              + (s.getProtectiveUntilUnixMs() > 0 ? ", until " + UtcTime.of(s.getProtectiveUntilUnixMs()) : ", until cleared")));
      System.out.println("host reboots: " + (s.getDeferUntilUnixMs() > System.currentTimeMillis()
          ? "deferred until " + UtcTime.of(s.getDeferUntilUnixMs()) + " (" + s.getDeferReason() + ")" : "not deferred"));
      return ExitCodes.OK;
    });
  }
}
