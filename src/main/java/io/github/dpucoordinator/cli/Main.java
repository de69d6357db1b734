package io.github.dpucoordinator.cli;

import com.typesafe.config.ConfigException;
import io.github.dpucoordinator.common.AppConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code dpuctl}: the DPU agent, the NPU service, and the commands that drive them. */
@Command(name = "dpuctl", mixinStandardHelpOptions = true, version = "dpuctl 0.1.0",
    description = "Coordinates NPU reboots with the DPUs of a SmartSwitch.",
    subcommands = {DpuCommand.class, NpuCommand.class, RebootCommand.class, StatusCommand.class, ChassisCommand.class,
        DpuRebootCommand.class, DpuHoldCommand.class, DpuPostponeCommand.class, ContainerzCommand.class, OffloaderCommand.class, OffloadctlCommand.class, CertsCommand.class, SimulateCommand.class, BenchmarkCommand.class, SoakCommand.class, CdsTrainingCommand.class,
        CommandLine.HelpCommand.class},
    footer = ExitCodes.HELP)
public final class Main {

  /** Commands that make a call or two to a running service and start no actor system: they do not set up logging. */
  private static final java.util.Set<String> LIGHT = java.util.Set.of("status", "reboot", "chassis", "--version", "-V", "--help", "-h", "help");

  public static void main(String[] args) {
    boolean light = args.length > 0 && (LIGHT.contains(args[0]) || (args[0].equals("cds-training") && args.length > 1 && args[1].equals("cli")));
    if (!light) {
      // Initialize logging on this thread before any actor system logs from several at once.
      org.slf4j.LoggerFactory.getILoggerFactory();
    }
    System.exit(run(args));
  }

  public static int run(String... args) {
    Class<?> command = args.length == 0 ? null : command(args[0]);
    if (command != null) {
      // only this command's model is built, not all sixteen (picocli reads every option of every one: 0.15 s)
      return new CommandLine(command).setCommandName("dpuctl " + args[0]).setUsageHelpAutoWidth(true).setExecutionExceptionHandler(Main::failed)
          .execute(java.util.Arrays.copyOfRange(args, 1, args.length));
    }
    return new CommandLine(new Main()).setUsageHelpAutoWidth(true).setExecutionExceptionHandler(Main::failed).execute(args);
  }

  /** The class of the top-level command {@code name} (not {@code help}, which needs them all); null if there is none. */
  private static Class<?> command(String name) {
    for (Class<?> c : Main.class.getAnnotation(Command.class).subcommands()) {
      Command sub = c.getAnnotation(Command.class);
      if (sub != null && sub.name().equals(name) && c != CommandLine.HelpCommand.class) {
        return c;
      }
    }
    return null;
  }

  /**
   * A command that failed with an exception says so in one line, naming the command: a configuration that
   * cannot be read or used is exit 5 (startup failed), anything else exit 1. DPUCTL_LOG_LEVEL=DEBUG adds the stack.
   */
  private static int failed(Exception e, CommandLine command, CommandLine.ParseResult parsed) {
    String name = command.getCommandName().replaceFirst("^dpuctl ", "");
    if ("DEBUG".equalsIgnoreCase(System.getenv("DPUCTL_LOG_LEVEL"))) {
      e.printStackTrace();
    }
    if (e instanceof AppConfig.Invalid) {
      System.err.println("dpuctl " + name + ": " + e.getMessage());
      return ExitCodes.STARTUP_FAILED;
    }
    if (e instanceof ConfigException c) {
      System.err.println("dpuctl " + name + ": invalid configuration: " + AppConfig.describe(c));
      return ExitCodes.STARTUP_FAILED;
    }
    System.err.println("dpuctl " + name + ": failed: " + Systems.rootMessage(e));
    return ExitCodes.DEGRADED;
  }
}
