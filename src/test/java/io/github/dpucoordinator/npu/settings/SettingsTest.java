package io.github.dpucoordinator.npu.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SettingsTest {

  @Test
  void parsesDpuEndpointsIncludingIpv6AndRefusesGarbageWithAnExample() {
    assertEquals(new DpuEndpoint("DPU0", "127.0.0.1", 50051), DpuEndpoint.parse("DPU0=127.0.0.1:50051"));
    assertEquals(new DpuEndpoint("dpu-1", "::1", 9339), DpuEndpoint.parse("dpu-1=[::1]:9339"));
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> DpuEndpoint.parse("DPU0:50051"));
    assertTrue(bad.getMessage().contains("ID=HOST:PORT"), bad.getMessage());
    assertThrows(IllegalArgumentException.class, () -> DpuEndpoint.parse("DPU0=127.0.0.1:70000"));
  }

  @Test
  void theDefaultConfigurationIsValidAndADryRun() {
    NpuSettings s = NpuSettings.create(AppConfig.load());
    assertTrue(s.dryRun(), "the default reboot action must be harmless");
    assertEquals(Duration.ofSeconds(120), s.ackDeadline());
    assertTrue(s.perDpuBudget().compareTo(s.ackDeadline()) <= 0, "the defaults fit together");
    assertEquals("127.0.0.1", s.adminHost());
  }

  @Test
  void dpusComeFromTheListAndTheSpecString() {
    Config c = ConfigFactory.parseString("""
        dpu-coordinator.npu.dpus = [{ id = "A", host = "127.0.0.1", port = 1 }]
        dpu-coordinator.npu.dpus-spec = "B=127.0.0.1:2, C=127.0.0.1:3"
        """).withFallback(AppConfig.load());
    assertEquals(List.of("A", "B", "C"), NpuSettings.create(c).dpus().stream().map(DpuEndpoint::id).toList());
  }

  @Test
  void refusesSettingsThatCannotWorkTogetherNamingTheKeys() {
    Config tooSlow = AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.signal.rpc-timeout", "3m");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(tooSlow));
    assertTrue(e.getMessage().contains("signal.rpc-timeout") && e.getMessage().contains("ack-deadline"), e.getMessage());

    Config tooLongHalt = AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.halt-timeout", "100s");
    IllegalArgumentException budget = assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(tooLongHalt));
    assertTrue(budget.getMessage().startsWith("one DPU's budget (dpu-coordinator.npu.signal: 5 attempts x rpc-timeout 5000 ms"), budget.getMessage());
    assertTrue(budget.getMessage().contains("dpu-coordinator.npu.halt-timeout 100000 ms")
        && budget.getMessage().contains("exceeds dpu-coordinator.npu.ack-deadline (120000 ms)"), budget.getMessage());

    Config shortPipe = AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.gateway.response-timeout", "30s");
    IllegalArgumentException pipe = assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(shortPipe));
    assertTrue(pipe.getMessage().startsWith("dpu-coordinator.npu.gateway.response-timeout (30000 ms) is shorter than one DPU's budget"),
        pipe.getMessage());

    Config longPostpone = AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.dpu-reboot.postpone-for", "10m");
    IllegalArgumentException postpone = assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(longPostpone));
    assertTrue(postpone.getMessage().startsWith("dpu-coordinator.npu.dpu-reboot.postpone-for (600000 ms) exceeds "
        + "dpu-coordinator.npu.dpu-reboot.max-postpone-total (300000 ms)"), postpone.getMessage());

    Config slowHooks = AppConfig.load().withValue("dpu-coordinator.npu.dpu-reboot.hooks", com.typesafe.config.ConfigFactory.parseString(
        "h = [{ name = migrate, command = \"true\", timeout = 30s }]").getValue("h"));
    IllegalArgumentException hooks = assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(slowHooks));
    assertTrue(hooks.getMessage().contains("dpu-reboot.hooks) may take 30000 ms, more than dpu-coordinator.npu.dpu-reboot.answer-within"),
        hooks.getMessage());

    Config badPolicy = AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.protective.at-cap", "ignore");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(badPolicy)).getMessage()
        .contains("protective.at-cap must be proceed or abort"));

    Config coarseFloor = AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.gnoi.poll.floor", "2s");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(coarseFloor)).getMessage()
        .contains("gnoi.poll.floor (PT2S) must not exceed gnoi.status-poll-interval (PT1S)"));
    Config longMemory = AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.gnoi.poll.halt-history", 17);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(longMemory)).getMessage()
        .contains("gnoi.poll.halt-history 1..16"));
    // a poll interval above the sparse ceiling is accepted: the ceiling is then the interval
    NpuSettings.create(AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.gnoi.status-poll-interval", "15s"));

    // connections closed when idle: not with the watch asking every 5 s; not below grpc-java's 1 s; fine without the watch
    Config idleWatched = AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.connections.idle-timeout", "30s");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(idleWatched)).getMessage()
        .contains("connections.idle-timeout (PT30S) needs dpu-coordinator.npu.watch.enabled = false"));
    Config unwatched = AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.watch.enabled", false);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> NpuSettings.create(AppConfig.with(unwatched,
        "dpu-coordinator.npu.connections.idle-timeout", "500ms"))).getMessage().contains("must be off or at least 1s"));
    NpuSettings.create(AppConfig.with(unwatched, "dpu-coordinator.npu.connections.idle-timeout", "30s"));

    NpuSettings base = NpuSettings.create(AppConfig.load());
    IllegalArgumentException dup = assertThrows(IllegalArgumentException.class, () -> base.withDpus(List.of(
        new DpuEndpoint("X", "127.0.0.1", 1), new DpuEndpoint("X", "127.0.0.1", 2))));
    assertTrue(dup.getMessage().contains("configured twice"), dup.getMessage());
  }

  @Test
  void backoffGrowsByTheFactorUpToTheCapAndJitterStaysInItsBand() {
    RetrySettings r = new RetrySettings(Duration.ofSeconds(1), 9, Duration.ofMillis(500),
        Duration.ofSeconds(3), 2.0, 0.2);
    assertEquals(List.of(500L, 1000L, 2000L, 3000L, 3000L),
        List.of(1, 2, 3, 4, 5).stream().map(a -> r.backoff(a).toMillis()).toList());
    assertEquals(400, r.backoff(1, 0.0).toMillis());
    assertEquals(600, r.backoff(1, 1.0).toMillis());
  }
}
