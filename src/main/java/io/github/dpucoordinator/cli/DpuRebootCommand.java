package io.github.dpucoordinator.cli;

import io.github.dpucoordinator.common.UtcTime;
import io.github.dpucoordinator.proto.agentctl.RebootNoticeStatus;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "dpu-reboot", mixinStandardHelpOptions = true, footer = ExitCodes.HELP,
    description = {"Reboot this DPU, after telling the NPU (run on the DPU, against its agent).",
        "The NPU may acknowledge or postpone (within dpu-coordinator.agent.reboot-notice's caps); at the hard deadline "
            + "the DPU reboots whatever the answer. Prints the negotiation as it goes."})
final class DpuRebootCommand implements Callable<Integer> {

  @Option(names = "--reason", paramLabel = "R", defaultValue = "operator request", description = "Why (told to the NPU).")
  String reason;

  @Option(names = "--deadline", paramLabel = "D",
      description = "Hard deadline from now: 90s, 10m, or milliseconds (default: dpu-coordinator.agent.reboot-notice.default-deadline).")
  String deadline;

  @Option(names = "--no-wait", description = "Print the notice and return; do not follow the negotiation.")
  boolean noWait;

  @Mixin
  AgentTarget target = new AgentTarget();

  @Override
  public Integer call() {
    long deadlineMs;
    try {
      deadlineMs = deadline == null ? 0 : AgentControlClient.duration("--deadline", deadline).toMillis();
    } catch (IllegalArgumentException e) {
      System.err.println("dpuctl dpu-reboot: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    return AgentControlClient.run("dpu-reboot", target.agent, target.id, (client, config) -> {
      RebootNoticeStatus s = client.requestReboot(reason, deadlineMs);
      if (!s.getAccepted()) {
        System.err.println("dpuctl dpu-reboot: refused: " + s.getMessage());
        return ExitCodes.REFUSED;
      }
      System.out.printf("notice %s: %s reboots (%s); planned %s, hard deadline %s%n", s.getNoticeId(), s.getDpuId(), s.getReason(),
          UtcTime.of(s.getPlannedUnixMs()), UtcTime.of(s.getHardDeadlineUnixMs()));
      int printed = print(s, 0);
      long pollNanos = config.getDuration("dpu-coordinator.cli.poll-interval").toNanos();
      while (!noWait && !gone(s)) {
        LockSupport.parkNanos(pollNanos);
        RebootNoticeStatus now = client.notice();
        if (!now.getNoticeId().equals(s.getNoticeId())) {
          System.out.println("notice " + s.getNoticeId() + " was superseded by " + now.getNoticeId());
          return ExitCodes.OK;
        }
        s = now;
        printed = print(s, printed);
      }
      if (gone(s)) {
        System.out.println(s.getDpuId() + " is rebooting (why: " + s.getWentWhy() + ")");
      }
      return ExitCodes.OK;
    });
  }

  private static boolean gone(RebootNoticeStatus s) {
    return s.getState().equals("REBOOTING") || s.getState().equals("DONE");
  }

  /** Prints the log lines past the first {@code printed}; returns how many are printed now. */
  private static int print(RebootNoticeStatus s, int printed) {
    for (int i = printed; i < s.getLogCount(); i++) {
      System.out.println(s.getLog(i));
    }
    return Math.max(printed, s.getLogCount());
  }
}
