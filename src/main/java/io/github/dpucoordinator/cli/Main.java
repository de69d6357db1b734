package io.github.dpucoordinator.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code dpuctl}: the DPU agent, the NPU service, and the commands that drive them. */
@Command(name = "dpuctl", mixinStandardHelpOptions = true, version = "dpuctl 0.1.0",
    description = "Coordinates NPU reboots with the DPUs of a SmartSwitch.",
    subcommands = {DpuCommand.class, NpuCommand.class, RebootCommand.class, StatusCommand.class, ChassisCommand.class,
        DpuRebootCommand.class, DpuHoldCommand.class, DpuPostponeCommand.class, SimulateCommand.class, BenchmarkCommand.class,
        CommandLine.HelpCommand.class},
    footer = ExitCodes.HELP)
public final class Main {

  public static void main(String[] args) {
    // Initialize logging on this thread before any actor system logs from several at once.
    org.slf4j.LoggerFactory.getILoggerFactory();
    System.exit(run(args));
  }

  public static int run(String... args) {
    return new CommandLine(new Main()).setUsageHelpAutoWidth(true).execute(args);
  }
}
