package io.github.dpucoordinator.agent.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class AgentSettingsTest {
  private static final String NOTICE = "dpu-coordinator.agent.reboot-notice.";

  private static IllegalArgumentException refused(String key, Object value) {
    Config c = AppConfig.with(AppConfig.load(), key, value);
    return assertThrows(IllegalArgumentException.class, () -> AgentSettings.create(c));
  }

  @Test
  void theDefaultsAreValidAndHarmless() {
    AgentSettings s = AgentSettings.create(AppConfig.load());
    assertEquals(List.of(), s.tenantCleanup());
    assertEquals(Duration.ofMinutes(30), s.maxDefer());
    assertTrue(!s.notice().hasNpu(), "no NPU unless configured");
    assertEquals(List.of("npu", "operator"), s.notice().allowedPostponers(), "the NPU and dpu-postpone's default identity");
    assertEquals("", s.rebootCommand(), "the restart action is simulated unless configured");
  }

  @Test
  void refusesCapsThatDoNotFitTheirDeadlineNamingTheKeys() {
    IllegalArgumentException total = refused(NOTICE + "max-postpone-total", "10m");
    assertTrue(total.getMessage().startsWith(NOTICE + "max-postpone-total (600000 ms) must be shorter than " + NOTICE + "default-deadline"),
        total.getMessage());

    IllegalArgumentException perRequest = refused(NOTICE + "max-postpone-per-request", "9m");
    assertTrue(perRequest.getMessage().contains(NOTICE + "max-postpone-per-request") && perRequest.getMessage().contains(NOTICE + "max-postpone-total"),
        perRequest.getMessage());

    IllegalArgumentException timeout = refused(NOTICE + "notice-timeout", "10m");
    assertTrue(timeout.getMessage().startsWith(NOTICE + "notice-timeout"), timeout.getMessage());

    assertTrue(refused(NOTICE + "retry-interval", "0s").getMessage().contains("retry-interval must be a positive duration"));
    assertTrue(refused("dpu-coordinator.agent.max-defer", "-1s").getMessage().contains("max-defer"));
    assertTrue(refused("dpu-coordinator.agent.npu-address", "npu-only").getMessage().contains("is not HOST:PORT"));
  }

  @Test
  void allowedPostponersAlsoComeAsACommaSeparatedString() {
    Config c = AppConfig.with(AppConfig.load(), NOTICE + "allowed-postponers", "npu, ops-team");
    assertEquals(List.of("npu", "ops-team"), AgentSettings.create(c).notice().allowedPostponers());
    Config ipv6 = AppConfig.with(AppConfig.load(), "dpu-coordinator.agent.npu-address", "[::1]:50200");
    assertEquals(50200, AgentSettings.create(ipv6).notice().npuPort());
  }
}
