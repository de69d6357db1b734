package io.github.dpucoordinator.npu.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.StepRunner;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NPU's configured actions run as real processes: one per campaign kind, force actions, pre-DPU-reboot hooks. */
class HostActionsTest {
  /** No simulated tasks here: nothing pauses. */
  private static final io.github.dpucoordinator.common.Delays NO_PAUSE =
      pause -> java.util.concurrent.CompletableFuture.completedFuture(null);

  @Test
  void eachCampaignKindRunsItsOwnCommandAndForceActionsAndHooksNameTheDpu(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("actions.log");
    Config c = AppConfig.withDataDir(AppConfig.load(), dir.resolve("data"));
    c = AppConfig.with(c, "dpu-coordinator.npu.reboot.command", "echo cold >> '" + log + "'");
    c = AppConfig.with(c, "dpu-coordinator.npu.reboot.power-off-command", "echo power-off >> '" + log + "'");
    c = AppConfig.with(c, "dpu-coordinator.npu.escalation.force-command", "echo forced {dpu} >> '" + log + "'");
    c = c.withValue("dpu-coordinator.npu.dpu-reboot.hooks", ConfigFactory.parseString(
        "h = [{ name = migrate, command = \"echo migrating {dpu}; exit 75\", timeout = 5s }]").getValue("h"));
    NpuSettings settings = NpuSettings.create(c);
    var executor = Executors.newFixedThreadPool(2);
    try {
      HostActions host = HostActions.fromSettings(settings, new StepRunner(executor), NO_PAUSE);
      assertTrue(host.reboot("c1", "power-off").toCompletableFuture().get(10, TimeUnit.SECONDS).ok());
      assertTrue(host.reboot("c2", "cold").toCompletableFuture().get(10, TimeUnit.SECONDS).ok());
      StepResult warm = host.reboot("c3", "warm").toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(warm.ok(), "no warm command configured: a dry run");
      assertEquals("dry run (warm)", host.describeReboot("warm"));
      assertTrue(host.force("c4", "DPU3").toCompletableFuture().get(10, TimeUnit.SECONDS).ok());
      assertEquals(List.of("power-off", "cold", "forced DPU3"), Files.readAllLines(log));

      List<StepResult> hooks = host.dpuRebootHooks("n1", "DPU5").toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(1, hooks.size());
      assertEquals("exit 75: migrating DPU5", hooks.get(0).detail());
      assertTrue(hooks.get(0).exited(75), "the exit code is a field, not only words: " + hooks.get(0));
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void theShellAroundTheRebootActionRecordsItsExitCodeInAFileARestartedServiceReads(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    // the action's shell is a subshell of the one the service starts: $PPID is the service (here: this JVM), $$ that shell
    Config c = AppConfig.with(AppConfig.withDataDir(AppConfig.load(), data), "dpu-coordinator.npu.reboot.command",
        "echo \"$DPUCOORD_CAMPAIGN_ID\" > '" + dir.resolve("ran") + "'; exit 3");
    NpuSettings settings = NpuSettings.create(c);
    var executor = Executors.newFixedThreadPool(1);
    try {
      HostActions host = HostActions.fromSettings(settings, new StepRunner(executor), NO_PAUSE);
      assertTrue(host.rebootReturnedWhileDown("c1").isEmpty(), "nothing ran yet");
      StepResult r = host.reboot("c1", "cold").toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals("exit 3", r.detail());
      assertEquals(List.of("c1"), Files.readAllLines(dir.resolve("ran")));
      assertEquals(List.of("3"), Files.readAllLines(data.resolve("run").resolve("reboot-c1.returned")));
      assertFalse(Files.exists(data.resolve("run").resolve("reboot-c1.returned.running")), "the shell noted its end");
      StepResult recorded = host.rebootReturnedWhileDown("c1").orElseThrow();
      assertFalse(recorded.ok());
      assertTrue(recorded.detail().startsWith("exit 3; the action returned after this service had stopped"), recorded.detail());
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void anActionStillRunningFromBeforeARestartIsLeftToFinishNotRunAgainAndItsFilesGoOnceSettled(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Config c = AppConfig.with(AppConfig.withDataDir(AppConfig.load(), data), "dpu-coordinator.npu.reboot.command", "sleep 60");
    NpuSettings settings = NpuSettings.create(c);
    Path running = data.resolve("run").resolve("reboot-c1.returned.running");
    var executor = Executors.newFixedThreadPool(1);
    long pid = -1;
    try {
      try (java.nio.file.WatchService watch = java.nio.file.FileSystems.getDefault().newWatchService()) {
        HostActions.fromSettings(settings, new StepRunner(executor), NO_PAUSE).reboot("c1", "cold"); // left running
        running.getParent().register(watch, java.nio.file.StandardWatchEventKinds.ENTRY_CREATE,
            java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY);
        // until the shell has noted its pid: woken by the file system, at most 10 events of 5 s each
        for (int i = 0; i < 10 && !(Files.exists(running) && !Files.readString(running).isBlank()); i++) {
          java.nio.file.WatchKey key = watch.poll(5, TimeUnit.SECONDS);
          if (key != null) {
            key.pollEvents();
            key.reset();
          }
        }
      }
      pid = Long.parseLong(Files.readString(running).strip());
      // as a restarted service sees it: another instance, the same data dir
      HostActions restarted = HostActions.fromSettings(settings, new StepRunner(executor), NO_PAUSE);
      StepResult seen = restarted.rebootReturnedWhileDown("c1").orElseThrow();
      assertTrue(seen.ok() && seen.detail().startsWith("the action is still running (pid " + pid), seen.toString());
      restarted.rebootSettled("c1");
      assertFalse(Files.exists(running));
      assertTrue(restarted.rebootReturnedWhileDown("c1").isEmpty());
    } finally {
      ProcessHandle.of(pid).ifPresent(p -> {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      });
      executor.shutdownNow();
    }
  }

  @Test
  void anActionWhoseShellHasExitedButIsNotReapedIsNotTakenForOneStillRunning(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    NpuSettings settings = NpuSettings.create(AppConfig.withDataDir(AppConfig.load(), data));
    Path pidFile = dir.resolve("zombie.pid");
    // the child ends a moment after the shell has become `sleep`, which never reaps it: a zombie, as the shell around
    // an action is for a moment after a SIGKILL took it and the service that started it (a child that ended before the
    // exec could be reaped by the shell itself: that made this test's precondition fail now and then)
    Process parent = new ProcessBuilder("sh", "-c", "sleep 0.3 & echo $! > '" + pidFile + "'; exec sleep 30").start();
    try {
      long pid = -1;
      for (int i = 0; i < 500 && !zombie(pid); i++) { // bounded: at most 5 s
        Thread.sleep(10);
        pid = Files.exists(pidFile) && !Files.readString(pidFile).isBlank() ? Long.parseLong(Files.readString(pidFile).strip()) : -1;
      }
      assertTrue(zombie(pid), "a zombie to test with");
      assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "ProcessHandle calls it alive");
      Path running = data.resolve("run").resolve("reboot-c1.returned.running");
      Files.createDirectories(running.getParent());
      Files.writeString(running, pid + "\n");

      HostActions restarted = HostActions.fromSettings(settings, new StepRunner(Executors.newSingleThreadExecutor()), NO_PAUSE);
      assertTrue(restarted.rebootReturnedWhileDown("c1").isEmpty(), "an exited action is not still running: it may be run again");
    } finally {
      parent.destroyForcibly();
    }
  }

  private static boolean zombie(long pid) throws java.io.IOException {
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    if (pid <= 0 || !Files.exists(stat)) {
      return false;
    }
    String s = Files.readString(stat);
    return s.substring(s.lastIndexOf(')') + 1).strip().startsWith("Z");
  }
}
