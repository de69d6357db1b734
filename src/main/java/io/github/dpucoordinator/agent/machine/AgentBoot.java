package io.github.dpucoordinator.agent.machine;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.UUID;

/**
 * What belongs to the DPU's current boot rather than to one incarnation of the agent's actor: made outside it, so
 * that it outlives a supervised restart (a restart is not a reboot: the NPU must not see a new boot id, a reset reboot
 * count or forgotten campaigns).
 */
final class AgentBoot {
  String id = newId();
  /** Recently completed campaigns, so a redelivered signal never runs the shutdown twice. */
  final Deque<String> completed = new ArrayDeque<>();
  long shutdownRuns;

  /** The DPU restarted: a new boot. */
  void rebooted() {
    id = newId();
  }

  /** Campaign {@code campaignId} completed; the {@code max} most recent are kept. */
  void remember(String campaignId, int max) {
    if (campaignId.isEmpty() || completed.contains(campaignId)) {
      return;
    }
    completed.addLast(campaignId);
    while (completed.size() > max) {
      completed.removeFirst();
    }
  }

  private static String newId() {
    return UUID.randomUUID().toString();
  }
}
