package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.agent.machine.DpuAgentProtocol.Method;
import io.github.dpucoordinator.agent.machine.DpuAgentProtocol.Signal;

/**
 * The reboot in progress, scheduled, or last finished since this boot: what gNOI RebootStatus reports. A restarted DPU
 * reports none ({@link #reset}), as SONiC's does.
 */
final class RebootProgress {
  private Method method;
  private String reason = "";
  private long startedAt;
  private boolean finished;
  /** Why the COLD/WARM restart action failed (it returned); empty while none did. */
  private String failure = "";
  private Signal pending;
  private long pendingAt;

  Method method() {
    return method;
  }

  String failure() {
    return failure;
  }

  Signal pending() {
    return pending;
  }

  void schedule(Signal signal, long at) {
    pending = signal;
    pendingAt = at;
  }

  /** The scheduled one (null: none), which is no longer scheduled. */
  Signal unschedule() {
    Signal signal = pending;
    pending = null;
    return signal;
  }

  void start(Signal signal, long now) {
    method = signal.method();
    reason = signal.reason();
    startedAt = now;
    finished = false;
    failure = "";
  }

  void finished() {
    finished = true;
  }

  /** The restart action returned: the reboot failed and the DPU stays down. */
  void failed(String why) {
    failure = why;
    finished = true;
  }

  void reset() {
    method = null;
    reason = "";
    startedAt = 0;
    finished = false;
    failure = "";
  }

  /** Shut down for a COLD or WARM reboot whose restart has not failed: the DPU is on its way back. */
  boolean restarting(AgentState state) {
    return state.shutDown() && method != null && method.restarts() && failure.isEmpty();
  }

  /** Scheduled, shutting down, or restarting. */
  boolean active(AgentState state) {
    return state.shuttingDown() || pending != null || restarting(state);
  }

  AgentSnapshot.Reboot snapshot(AgentState state) {
    return new AgentSnapshot.Reboot(pending != null ? pending.method() : method, pending != null ? pending.reason() : reason, startedAt,
        pending != null ? pendingAt : 0, active(state), finished, failure);
  }
}
