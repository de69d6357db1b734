package io.github.dpucoordinator.agent;

import io.github.dpucoordinator.agent.machine.AgentSnapshot;
import io.github.dpucoordinator.agent.machine.AgentState;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.offloader.OffloaderDaemon;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Tells the offloader running in the agent's JVM what the agent goes through: when it starts shutting down (a
 * campaign, a module transition, a DPU-initiated reboot) the health monitor pauses, so a planned stop is not taken
 * for a crash; when it is Listening again after a restart, the initialization sequence runs (it starts what the halt
 * stopped). It follows the agent's state by long poll.
 */
final class OffloaderLink {
  private OffloaderLink() {}

  record Seen(AgentSnapshot snapshot) {}

  static Behavior<Seen> create(ActorRef<DpuAgent.Command> agent, OffloaderDaemon daemon) {
    return Behaviors.setup(ctx -> {
      boolean[] paused = {false};
      long[] version = {0};
      Runnable poll = () -> ctx.ask(AgentSnapshot.class, agent, Duration.ofSeconds(40),
          r -> new DpuAgent.GetState(version[0], Duration.ofSeconds(30), r), (s, f) -> new Seen(s));
      poll.run();
      return Behaviors.receive(Seen.class).onMessage(Seen.class, seen -> {
        AgentSnapshot s = seen.snapshot();
        if (s != null) {
          version[0] = s.version();
          boolean down = s.state() != AgentState.LISTENING;
          if (down && !paused[0]) {
            paused[0] = true;
            ctx.getLog().info("[campaign={} dpu={}] the agent is {}: the offloader's health monitor pauses", s.campaignId(), s.dpuId(), s.state());
            daemon.pause(true);
          } else if (!down && paused[0]) {
            paused[0] = false;
            ctx.getLog().info("[campaign={} dpu={}] the agent is listening again: the offloader runs its initialization", s.campaignId(), s.dpuId());
            daemon.init(Duration.ofMinutes(15));
          }
        }
        poll.run();
        return Behaviors.same();
      }).build();
    });
  }
}
