package io.github.dpucoordinator.agent.machine;

import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.StepRunner;
import io.github.dpucoordinator.common.StepSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One run of the agent's shutdown ({@link ShutdownPlan}): its steps in order, each with its own timeout, a failed one
 * reported and passed; a protective state holds the steps it covers until it clears. When the last step is done the
 * agent is told ({@code done}).
 */
final class ShutdownSteps {
  /** {@code run} tells an interrupted shutdown's late step results from the current one's. */
  record StepFinished(long run, int index, StepResult result) implements DpuAgentProtocol.Command {}

  private final ActorContext<DpuAgentProtocol.Command> ctx;
  private final TimerScheduler<DpuAgentProtocol.Command> timers;
  private final StepRunner runner;
  private final String dpuId;
  private final Supplier<String> campaign;
  private final Supplier<Holds> holds;
  private final Runnable done;
  private ShutdownPlan plan = new ShutdownPlan(List.of(), 0, false);
  /** The step a protective state holds the shutdown at; -1 while none is held. */
  private int heldAt = -1;
  private List<StepResult> results = List.of();
  private boolean degraded;
  private long run;

  ShutdownSteps(ActorContext<DpuAgentProtocol.Command> ctx, TimerScheduler<DpuAgentProtocol.Command> timers, StepRunner runner,
      String dpuId, Supplier<String> campaign, Supplier<Holds> holds, Runnable done) {
    this.ctx = ctx;
    this.timers = timers;
    this.runner = runner;
    this.dpuId = dpuId;
    this.campaign = campaign;
    this.holds = holds;
    this.done = done;
  }

  /** A new run ({@code run} tells its step results from an earlier one's); its first step starts with {@link #step}. */
  void begin(ShutdownPlan next, long runNumber) {
    plan = next;
    run = runNumber;
    heldAt = -1;
    results = new ArrayList<>();
    degraded = false;
  }

  ShutdownPlan plan() {
    return plan;
  }

  List<StepResult> results() {
    return results;
  }

  boolean degraded() {
    return degraded;
  }

  /** The run was cut off (a power cycle): nothing is held any more. */
  void cutOff() {
    timers.cancel("step");
    heldAt = -1;
  }

  /** The protective state cleared: a held step starts now. */
  void resumeIfHeld() {
    if (heldAt >= 0) {
      ctx.getLog().info("[campaign={} dpu={}] protective state cleared; the shutdown resumes", campaign.get(), dpuId);
      step(heldAt);
    }
  }

  void step(int index) {
    Holds h = holds.get();
    if (plan.heldByProtectiveState(index) && h.protectiveActive()) {
      if (heldAt != index) {
        heldAt = index;
        ctx.getLog().warn("[campaign={} dpu={}] shutdown held at {}: {}; it resumes when the protective state clears",
            campaign.get(), dpuId, index < plan.steps().size() ? plan.label(index) : "completion", h.protectiveDescription());
      }
      return;
    }
    heldAt = -1;
    List<StepSpec> steps = plan.steps();
    if (index >= steps.size()) {
      done.run();
      return;
    }
    StepSpec step = steps.get(index);
    ctx.getLog().info("[campaign={} dpu={}] {} '{}' started", campaign.get(), dpuId, plan.label(index), step.name());
    long thisRun = run;
    if (step.isSimulated()) {
      timers.startSingleTimer("step",
          new StepFinished(thisRun, index, new StepResult(step.name(), true, "simulated", step.simulated().toMillis())), step.simulated());
    } else {
      ctx.pipeToSelf(runner.run(step, step.timeout()), (result, failure) ->
          new StepFinished(thisRun, index, Failures.orFailed(result, failure, step.name())));
    }
  }

  /** A step ended; {@code current}: its run is still the one the agent is shutting down for. */
  void finished(StepFinished finished, boolean current) {
    if (finished.run() != run || !current) {
      return; // a step of a shutdown that a power cycle cut off
    }
    StepResult r = finished.result();
    results.add(r);
    if (r.ok()) {
      ctx.getLog().info("[campaign={} dpu={}] step '{}' done in {} ms", campaign.get(), dpuId, r.name(), r.millis());
    } else {
      // A failed step does not stop the shutdown: the NPU reboots anyway, so finish and report it.
      degraded = true;
      ctx.getLog().warn("[campaign={} dpu={}] step '{}' failed: {}; continuing", campaign.get(), dpuId, r.name(), r.detail());
    }
    step(finished.index() + 1);
  }
}
