package io.github.dpucoordinator.npu.host;

import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.StepRunner;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

  /** This host's boot id (a new one at every boot), "" where the system gives none. */
  default String bootId() {
    return HostBootId.read();
  }

  /**
   * How the reboot action of this campaign returned if it returned after this service had died (empty: it did
   * not return, did not run, or its return is not known this way).
   */
  default java.util.Optional<StepResult> rebootReturnedWhileDown(String campaignId) {
    return java.util.Optional.empty();
  }

  /** The campaign's reboot is settled and journaled: what was kept to answer {@link #rebootReturnedWhileDown} can go. */
  default void rebootSettled(String campaignId) {}

  /** How the reboot action reads in the journal and the logs. */
  String describeReboot();

  /** How the action of a campaign of this kind reads. */
  default String describeReboot(String kind) {
    return describeReboot();
  }

  /** Powers one DPU off (`chassis module shutdown`, after its HALT). The default is a dry run. */
  default CompletionStage<StepResult> powerOff(String transitionId, String dpuId) {
    return CompletableFuture.completedFuture(new StepResult("power-off", true, "dry run", 0));
  }

  /** Powers one DPU on (`chassis module startup`). The default is a dry run. */
  default CompletionStage<StepResult> powerOn(String transitionId, String dpuId) {
    return CompletableFuture.completedFuture(new StepResult("power-on", true, "dry run", 0));
  }

  /** Escalation: the DPU's force action (its own, or the shared one with {dpu}). The default is a dry run. */
  default CompletionStage<StepResult> force(String campaignId, String dpuId) {
    return CompletableFuture.completedFuture(new StepResult("force", true, "dry run", 0));
  }

  /** The pre-DPU-reboot hooks, in order, for a DPU that announced its own reboot. None by default. */
  default CompletionStage<List<StepResult>> dpuRebootHooks(String noticeId, String dpuId) {
    return CompletableFuture.completedFuture(List.of());
  }

  /** {@code delays}: the pause of a simulated task, on the actor system's scheduler. */
  static HostActions fromSettings(NpuSettings settings, StepRunner runner, io.github.dpucoordinator.common.Delays delays) {
    return new Commands(settings, runner, delays);
  }

  /**
   * Runs configured shell commands through {@link StepRunner}; each gets what it runs for in its environment:
   * DPUCOORD_CAMPAIGN_ID (or DPUCOORD_TRANSITION_ID, DPUCOORD_NOTICE_ID), DPUCOORD_DPU_ID, DPUCOORD_REBOOT_KIND.
   */
  final class Commands implements HostActions {
    private static final String CAMPAIGN = "DPUCOORD_CAMPAIGN_ID";
    private static final String DPU = "DPUCOORD_DPU_ID";
    private static final String NOTICE = "DPUCOORD_NOTICE_ID";
    private static final String RETURN_FILE = "DPUCOORD_REBOOT_RETURN_FILE";
    private static final Logger log = LoggerFactory.getLogger(HostActions.class);
    private final NpuSettings settings;
    private final StepRunner runner;
    private final io.github.dpucoordinator.common.Delays delays;

    Commands(NpuSettings settings, StepRunner runner, io.github.dpucoordinator.common.Delays delays) {
      this.settings = settings;
      this.runner = runner;
      this.delays = delays;
    }

    @Override
    public CompletionStage<List<StepResult>> prepare(String campaignId) {
      return inOrder(settings.preRebootTasks(), Map.of(CAMPAIGN, campaignId), r ->
          log.info("[campaign={} dpu=all] pre-reboot task '{}': {} {}", campaignId, r.name(), r.ok() ? "ok" : "FAILED", r.detail()));
    }

    /** Runs {@code steps} one after the other, each logged as it ends; a failed one does not stop the rest. */
    private CompletionStage<List<StepResult>> inOrder(List<StepSpec> steps, Map<String, String> env,
        java.util.function.Consumer<StepResult> logged) {
      CompletionStage<List<StepResult>> chain = CompletableFuture.completedFuture(new ArrayList<>());
      for (StepSpec step : steps) {
        chain = chain.thenCompose(done -> run(step, env).thenApply(r -> {
          logged.accept(r);
          done.add(r);
          return done;
        }));
      }
      return chain.thenApply(List::copyOf);
    }

    @Override
    public CompletionStage<StepResult> force(String campaignId, String dpuId) {
      String command = settings.negotiation().forceCommandFor(dpuId);
      if (command.isBlank()) {
        log.warn("[campaign={} dpu={}] DRY RUN: would run the DPU's force action now; none is configured "
            + "(dpu-coordinator.npu.escalation.force-command or dpus[].force-command)", campaignId, dpuId);
        return CompletableFuture.completedFuture(new StepResult("force", true, "dry run", 0));
      }
      log.warn("[campaign={} dpu={}] running force action: {}", campaignId, dpuId, command);
      return runner.run(StepSpec.command("force", command, settings.negotiation().forceTimeout()), settings.negotiation().forceTimeout(),
          Map.of(CAMPAIGN, campaignId, DPU, dpuId));
    }

    @Override
    public CompletionStage<List<StepResult>> dpuRebootHooks(String noticeId, String dpuId) {
      List<StepSpec> hooks = settings.negotiation().dpuRebootHooks().stream().map(hook -> hook.isSimulated() ? hook
          : StepSpec.command(hook.name(), hook.command().replace("{dpu}", dpuId), hook.timeout())).toList();
      return inOrder(hooks, Map.of(NOTICE, noticeId, DPU, dpuId), r ->
          log.info("[campaign={} dpu={}] pre-DPU-reboot hook '{}': {} {}", noticeId, dpuId, r.name(), r.ok() ? "ok" : "FAILED", r.detail()));
    }

    private CompletionStage<StepResult> run(StepSpec task, Map<String, String> env) {
      if (task.isSimulated()) {
        return delays.after(task.simulated()).thenApply(x -> new StepResult(task.name(), true, "simulated", task.simulated().toMillis()));
      }
      return runner.run(task, task.timeout(), env);
    }

    @Override
    public CompletionStage<StepResult> reboot(String campaignId, String kind) {
      String command = command(kind);
      if (command.isBlank()) {
        log.warn("[campaign={} dpu=all] DRY RUN: the NPU would {} now; no command is configured "
            + "(dpu-coordinator.npu.reboot.{})", campaignId, kind.equals("power-off") ? "power off" : "reboot (" + kind + ")", key(kind));
        return CompletableFuture.completedFuture(new StepResult("reboot", true, "", 0));
      }
      log.warn("[campaign={} dpu=all] running {} command: {}", campaignId, kind, command);
      Path returned = returnFile(campaignId);
      try {
        Files.createDirectories(returned.getParent());
        Files.deleteIfExists(returned);
      } catch (IOException e) {
        return CompletableFuture.completedFuture(new StepResult("reboot", false, "cannot prepare " + returned + ": " + e.getMessage(), 0));
      }
      // The command runs in a subshell; the shell around it notes its pid while it runs and records its exit in a file
      // even when this service has died by then (killed, or taken down by the reboot), so a restarted service knows
      // whether it still runs or has returned.
      String f = "\"$" + RETURN_FILE;
      String wrapped = "printf '%s\\n' $$ > " + f + ".running\"; (\n" + command + "\n); rc=$?; printf '%s\\n' \"$rc\" > " + f
          + ".tmp\" && mv -f " + f + ".tmp\" " + f + "\"; rm -f " + f + ".running\"; exit $rc";
      return runner.run(StepSpec.command("reboot", wrapped, settings.reboot().timeout()), settings.reboot().timeout(),
          Map.of(CAMPAIGN, campaignId, "DPUCOORD_REBOOT_KIND", kind, RETURN_FILE, returned.toString()));
    }

    @Override
    public java.util.Optional<StepResult> rebootReturnedWhileDown(String campaignId) {
      Path returned = returnFile(campaignId);
      try {
        if (!Files.exists(returned)) {
          return stillRunning(campaignId, returned.resolveSibling(returned.getFileName() + ".running"));
        }
        String exit = Files.readString(returned).strip();
        int code = Integer.parseInt(exit);
        return java.util.Optional.of(new StepResult("reboot", code == 0, (code == 0 ? "" : "exit " + code + "; ")
            + "the action returned after this service had stopped (" + returned + ")", 0, code));
      } catch (java.nio.file.NoSuchFileException e) {
        return java.util.Optional.empty();
      } catch (IOException | NumberFormatException e) {
        log.warn("[campaign={} dpu=all] unreadable return file of the reboot action {}: {}", campaignId, returned, e.getMessage());
        return java.util.Optional.empty();
      }
    }

    /**
     * The shell around the action that outlived this service and still runs it (its pid, noted as it started, is a
     * live process started no later than the note): it is left to finish and not run a second time.
     */
    private java.util.Optional<StepResult> stillRunning(String campaignId, Path running) throws IOException {
      if (!Files.exists(running)) {
        return java.util.Optional.empty();
      }
      long pid = Long.parseLong(Files.readString(running).strip());
      java.time.Instant noted = Files.getLastModifiedTime(running).toInstant();
      boolean alive = ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(p -> !exited(p.pid()))
          .flatMap(p -> p.info().startInstant()).map(started -> !started.isAfter(noted.plusSeconds(1))).orElse(false);
      if (!alive) {
        return java.util.Optional.empty();
      }
      log.warn("[campaign={} dpu=all] the reboot action started before this service restarted is still running (pid {}); "
          + "it is left to finish, not run again", campaignId, pid);
      return java.util.Optional.of(new StepResult("reboot", true, "the action is still running (pid " + pid + ", started before this "
          + "service restarted)", 0));
    }

    /**
     * A process that has exited but is not reaped yet (a zombie: its parent, this service, was killed, and whoever
     * inherits it has not collected it) still counts as alive for {@link ProcessHandle}; its state in /proc says Z.
     */
    private static boolean exited(long pid) {
      try {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String state = stat.substring(stat.lastIndexOf(')') + 1).strip();
        return state.startsWith("Z") || state.startsWith("X");
      } catch (IOException | RuntimeException e) {
        return false; // no /proc here: ProcessHandle's word stands
      }
    }

    @Override
    public void rebootSettled(String campaignId) {
      Path returned = returnFile(campaignId);
      try {
        Files.deleteIfExists(returned);
        Files.deleteIfExists(returned.resolveSibling(returned.getFileName() + ".running"));
      } catch (IOException e) {
        log.warn("[campaign={} dpu=all] could not remove {}: {}", campaignId, returned, e.getMessage());
      }
    }

    /** Where the shell around the reboot action records its exit: {@code <data-dir>/run/reboot-<campaign>.returned}. */
    private Path returnFile(String campaignId) {
      return settings.dataDir().resolve("run").resolve("reboot-" + Ids.safe(campaignId) + ".returned");
    }

    /** The NPU's action for a campaign kind: warm and power-off have their own commands (empty = dry run). */
    private String command(String kind) {
      return switch (kind) {
        case "warm" -> settings.negotiation().warmCommand();
        case "power-off" -> settings.negotiation().powerOffCommand();
        default -> settings.reboot().command();
      };
    }

    private static String key(String kind) {
      return switch (kind) {
        case "warm" -> "warm-command";
        case "power-off" -> "power-off-command";
        default -> "command";
      };
    }

    @Override
    public String describeReboot() {
      return settings.dryRun() ? "dry run" : "command: " + settings.reboot().command();
    }

    @Override
    public String describeReboot(String kind) {
      String command = command(kind);
      return command.isBlank() ? "dry run (" + kind + ")" : kind + " command: " + command;
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
      return runner.run(StepSpec.command(what, command, settings.module().commandTimeout()), settings.module().commandTimeout(),
          Map.of("DPUCOORD_TRANSITION_ID", transitionId, DPU, dpuId));
    }
  }
}
