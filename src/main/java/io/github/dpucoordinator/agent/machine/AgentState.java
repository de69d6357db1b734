package io.github.dpucoordinator.agent.machine;

/** The DPU's states from seed 000's DPU state machine. */
public enum AgentState {
  LISTENING,
  SHUTDOWN_INITIATED,
  SHUTDOWN,
  SHUTDOWN_COMPLETE,
  WAIT_FOR_RESTART;

  public boolean shuttingDown() {
    return this == SHUTDOWN_INITIATED || this == SHUTDOWN;
  }

  public boolean shutDown() {
    return this == SHUTDOWN_COMPLETE || this == WAIT_FOR_RESTART;
  }
}
