package io.github.dpucoordinator.cli;

import io.github.dpucoordinator.proto.agentctl.PostponeRebootResponse;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "dpu-postpone", mixinStandardHelpOptions = true, footer = ExitCodes.HELP,
    description = {"Ask this DPU to postpone its own reboot (dpu-reboot) in flight.",
        "Only identities in dpu-coordinator.agent.reboot-notice.allowed-postponers may; the postponement is capped per "
            + "request, in total, and by the hard deadline."})
final class DpuPostponeCommand implements Callable<Integer> {

  @Option(names = "--until", paramLabel = "D", required = true, description = "Postpone for D from now: 90s, 10m, or milliseconds.")
  String until;

  @Option(names = "--reason", paramLabel = "R", defaultValue = "operator request", description = "Why.")
  String reason;

  @Option(names = "--identity", paramLabel = "NAME", defaultValue = "operator",
      description = "Who asks (the dpu-coordinator-identity header; default ${DEFAULT-VALUE}).")
  String identity;

  @Option(names = "--notice", paramLabel = "ID", defaultValue = "", description = "The notice to postpone (default: the one in flight).")
  String notice;

  @Mixin
  AgentTarget target = new AgentTarget();

  @Override
  public Integer call() {
    long forMs;
    try {
      forMs = AgentControlClient.duration("--until", until).toMillis();
    } catch (IllegalArgumentException e) {
      System.err.println("dpuctl dpu-postpone: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    return AgentControlClient.run("dpu-postpone", target.agent, target.id, (client, config) -> {
      PostponeRebootResponse r = client.postpone(notice, System.currentTimeMillis() + forMs, reason, identity);
      if (!r.getAccepted()) {
        System.err.println("dpuctl dpu-postpone: refused: " + r.getMessage());
        return ExitCodes.REFUSED;
      }
      System.out.println(r.getMessage());
      return ExitCodes.OK;
    });
  }
}
