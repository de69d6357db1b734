package io.github.dpucoordinator.cli;

import picocli.CommandLine.Option;

/** The agent a dpu-* command talks to, and the DPU it must be: options shared by those commands. */
final class AgentTarget {
  @Option(names = "--id", paramLabel = "DPU", description = "Refuse unless the agent is this DPU.")
  String id;

  @Option(names = "--agent", paramLabel = "HOST:PORT",
      description = "The agent's address (default: dpu-coordinator.agent.host and port).")
  String agent;
}
