package io.github.dpucoordinator.npu;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.StepRunner;
import io.github.dpucoordinator.common.StepSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the NPU itself does around a campaign: its pre-reboot tasks and the reboot. The reboot is a
 * configured command; with none configured it is a dry run that only logs, so nothing in tests, the
 * simulation or the default configuration can reboot the machine it runs on.
 */
public interface HostActions {

  /** Runs the pre-reboot tasks in order; a failed task is reported, not fatal. */
  CompletionStage<List<StepResult>> prepare(String campaignId);

  /** Runs the reboot action once. */
  CompletionStage<StepResult> reboot(String campaignId, String kind);

  /** How the reboot action reads in the journal and the logs. */
  String describeReboot();

  /** Powers one DPU off (`chassis module shutdown`, after its HALT). The default is a dry run. */
  default CompletionStage<StepResult> powerOff(String transitionId, String dpuId) {
    return CompletableFuture.completedFuture(new StepResult("power-off", true, "dry run", 0));
  }

  /** Powers one DPU on (`chassis module startup`). The default is a dry run. */
  default CompletionStage<StepResult> powerOn(String transitionId, String dpuId) {
    return CompletableFuture.completedFuture(new StepResult("power-on", true, "dry run", 0));
  }

  static HostActions fromSettings(NpuSettings settings, StepRunner runner) {
    return new Commands(settings, runner);
  }

  /** Runs configured shell commands through {@link StepRunner}. */
  final class Commands implements HostActions {
    private static final Logger log = LoggerFactory.getLogger(HostActions.class);
    private final NpuSettings settings;
    private final StepRunner runner;

    Commands(NpuSettings settings, StepRunner runner) {
      this.settings = settings;
      this.runner = runner;
    }

    @Override
    public CompletionStage<List<StepResult>> prepare(String campaignId) {
      CompletionStage<List<StepResult>> chain = CompletableFuture.completedFuture(new ArrayList<>());
      for (StepSpec task : settings.preRebootTasks()) {
        chain = chain.thenCompose(done -> run(task).thenApply(r -> {
          log.info("[campaign={} dpu=all] pre-reboot task '{}': {} {}", campaignId, r.name(), r.ok() ? "ok" : "FAILED", r.detail());
          done.add(r);
          return done;
        }));
      }
      return chain.thenApply(List::copyOf);
    }

    private CompletionStage<StepResult> run(StepSpec task) {
      if (task.isSimulated()) {
        return CompletableFuture.supplyAsync(() -> new StepResult(task.name(), true, "simulated", task.simulated().toMillis()),
            CompletableFuture.delayedExecutor(task.simulated().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS));
      }
      return runner.run(task, task.timeout());
    }

    @Override
    public CompletionStage<StepResult> reboot(String campaignId, String kind) {
      if (settings.dryRun()) {
        log.warn("[campaign={} dpu=all] DRY RUN: the NPU would reboot now ({}); no command is configured "
            + "(dpu-coordinator.npu.reboot.command / --reboot-cmd)", campaignId, kind);
        return CompletableFuture.completedFuture(new StepResult("reboot", true, "", 0));
      }
      log.warn("[campaign={} dpu=all] running reboot command: {}", campaignId, settings.rebootCommand());
      return runner.run(StepSpec.command("reboot", settings.rebootCommand(), settings.rebootTimeout()), settings.rebootTimeout());
    }

    @Override
    public String describeReboot() {
      return settings.dryRun() ? "dry run" : "command: " + settings.rebootCommand();
    }

    @Override
    public CompletionStage<StepResult> powerOff(String transitionId, String dpuId) {
      return power("power-off", settings.module().powerOffCommand(), transitionId, dpuId);
    }

    @Override
    public CompletionStage<StepResult> powerOn(String transitionId, String dpuId) {
      return power("power-on", settings.module().powerOnCommand(), transitionId, dpuId);
    }

    private CompletionStage<StepResult> power(String what, String template, String transitionId, String dpuId) {
      if (template.isBlank()) {
        log.warn("[campaign={} dpu={}] DRY RUN: would {} the DPU now; no command is configured (dpu-coordinator.npu.module.{}-command)",
            transitionId, dpuId, what, what);
        return CompletableFuture.completedFuture(new StepResult(what, true, "dry run", 0));
      }
      String command = template.replace("{dpu}", dpuId);
      log.warn("[campaign={} dpu={}] running {} command: {}", transitionId, dpuId, what, command);
      return runner.run(StepSpec.command(what, command, settings.module().commandTimeout()), settings.module().commandTimeout());
    }
  }
}
