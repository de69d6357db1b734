package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.api.AgentControlServiceImpl;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Ports;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlClient;
import io.github.dpucoordinator.proto.agentctl.GetRebootNoticeRequest;
import io.github.dpucoordinator.proto.agentctl.PostponeRebootRequest;
import io.github.dpucoordinator.proto.agentctl.PostponeRebootResponse;
import io.github.dpucoordinator.proto.agentctl.RebootNoticeStatus;
import io.github.dpucoordinator.proto.agentctl.RequestRebootRequest;
import io.github.dpucoordinator.proto.notice.RebootGoingNotice;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** DPU-initiated reboots (R1-R4): a real agent on loopback negotiating with a scripted NPU. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RebootNegotiationTest {
  private final ActorTestKit kit = ActorTestKit.create("negotiation", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static RebootNoticeStatus request(DpuAgentControlClient client, long deadlineMs) throws Exception {
    RebootNoticeStatus s = get(client.requestReboot(RequestRebootRequest.newBuilder().setReason("kernel upgrade").setDeadlineMs(deadlineMs).build()));
    assertTrue(s.getAccepted(), s.getMessage());
    return s;
  }

  private static PostponeRebootResponse postpone(DpuAgentControlClient client, String identity, String noticeId, long untilMs)
      throws Exception {
    return get(client.postponeReboot().addHeader(AgentControlServiceImpl.IDENTITY_HEADER, identity)
        .invoke(PostponeRebootRequest.newBuilder().setNoticeId(noticeId).setUntilUnixMs(untilMs).setReason("migrating VMs").build()));
  }

  private RebootNoticeStatus awaitNotice(DpuAgentControlClient client, Predicate<RebootNoticeStatus> ok) {
    return kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      RebootNoticeStatus s = get(client.getRebootNotice(GetRebootNoticeRequest.getDefaultInstance()));
      assertTrue(ok.test(s), s::toString);
      return s;
    });
  }

  @Test
  void anAcknowledgedNoticeRebootsAtOnceTellsTheNpuAndEndsWhenTheDpuIsBack() throws Exception {
    NpuNoticeStub npu = NpuNoticeStub.start(kit.system(), n -> NpuNoticeStub.ack());
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "N-ACK", NpuNoticeStub.caps(npu.address(), 500, 1000, 5000), 100);
    DpuAgentControlClient client = NpuNoticeStub.control(kit.system(), agent);

    RebootNoticeStatus started = request(client, 0);
    assertTrue(started.getNoticeId().matches("n\\d{8}T\\d{6}-[0-9a-f]{4}"), started.getNoticeId());
    assertEquals(started.getPlannedUnixMs() + 5000, started.getHardDeadlineUnixMs(), "the default deadline");

    NpuNoticeStub.Received notice = npu.nextNotice();
    assertEquals(started.getNoticeId(), notice.notice().getNoticeId());
    assertEquals(1, notice.notice().getRound());
    assertEquals("N-ACK", notice.notice().getDpuId());
    assertEquals("kernel upgrade", notice.notice().getReason());
    RebootGoingNotice going = npu.nextGoing();
    assertEquals("acknowledged", going.getWhy());
    assertEquals(started.getNoticeId(), going.getNoticeId());

    RebootNoticeStatus done = awaitNotice(client, s -> s.getState().equals("DONE"));
    assertEquals("acknowledged", done.getWentWhy());
    assertEquals("round 1: NPU (npu) answered ACK; rebooting", done.getLog(0));
    assertTrue(Harness.agentState(kit.system(), agent).completedCampaigns().contains(started.getNoticeId()),
        "the agent ran its shutdown under the notice id");
    assertTrue(npu.notices.isEmpty(), "one round");
  }

  @Test
  void aPostponeFromAnAllowedResponderWaitsThenSendsTheNextRound() throws Exception {
    NpuNoticeStub npu = NpuNoticeStub.start(kit.system(),
        n -> n.getRound() == 1 ? NpuNoticeStub.postpone(500, "migrating VMs", "npu") : NpuNoticeStub.ack());
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "N-POSTPONE", NpuNoticeStub.caps(npu.address(), 2000, 3000, 5000), 100);
    DpuAgentControlClient client = NpuNoticeStub.control(kit.system(), agent);
    request(client, 0);

    NpuNoticeStub.Received first = npu.nextNotice();
    RebootNoticeStatus postponed = awaitNotice(client, s -> s.getState().equals("POSTPONED"));
    assertTrue(postponed.getLog(0).startsWith("round 1: NPU (npu) answered POSTPONE until ")
        && postponed.getLog(0).contains("(migrating VMs); granted until "), postponed.getLog(0));
    NpuNoticeStub.Received second = npu.nextNotice();
    assertEquals(2, second.notice().getRound());
    assertEquals(first.notice().getNoticeId(), second.notice().getNoticeId());
    assertTrue(second.atMillis() - first.atMillis() >= 400, "round 2 waited for the postponement: " + (second.atMillis() - first.atMillis()));
    assertEquals("acknowledged", npu.nextGoing().getWhy());
    assertEquals(2, awaitNotice(client, s -> !s.getWentWhy().isEmpty()).getRounds());
  }

  @Test
  void aPostponeFromAnUnauthorisedResponderIsRefusedAndTheDpuGoesAtOnce() throws Exception {
    NpuNoticeStub npu = NpuNoticeStub.start(kit.system(), n -> NpuNoticeStub.postpone(60_000, "mine", "intruder"));
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "N-INTRUDER", NpuNoticeStub.caps(npu.address(), 2000, 3000, 5000), 100);
    DpuAgentControlClient client = NpuNoticeStub.control(kit.system(), agent);
    request(client, 0);
    assertEquals("postponement refused", npu.nextGoing().getWhy());
    RebootNoticeStatus s = awaitNotice(client, n -> !n.getWentWhy().isEmpty());
    assertEquals(1, s.getRounds());
    assertTrue(s.getLog(0).contains("refused: 'intruder' is not in dpu-coordinator.agent.reboot-notice.allowed-postponers"), s.getLog(0));
  }

  @Test
  void endlessPostponesEndAtTheTotalCapAndTheNpuIsTold() throws Exception {
    NpuNoticeStub npu = NpuNoticeStub.start(kit.system(), n -> NpuNoticeStub.postpone(60_000, "never", "npu"));
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "N-ENDLESS", NpuNoticeStub.caps(npu.address(), 300, 800, 5000), 100);
    DpuAgentControlClient client = NpuNoticeStub.control(kit.system(), agent);
    RebootNoticeStatus started = request(client, 0);

    RebootGoingNotice going = npu.nextGoing();
    assertEquals("postponement cap reached", going.getWhy());
    long after = going.getAtUnixMs() - started.getPlannedUnixMs();
    assertTrue(after >= 800 && after < 5000, "went at planned + max-postpone-total, not at the hard deadline: " + after + " ms");
    RebootNoticeStatus s = awaitNotice(client, n -> !n.getWentWhy().isEmpty());
    // 300 + 300 + 200 ms of postponements, then the cap (a slow machine may reach it a round earlier)
    assertTrue(s.getRounds() >= 3, s.getLogList().toString());
    assertTrue(s.getLog(s.getRounds() - 2).contains("granted until"), s.getLogList().toString());
    assertTrue(s.getLog(s.getRounds() - 1).endsWith("postponement cap reached; rebooting"), s.getLogList().toString());
  }

  @Test
  void aNoticeTheNpuRejectsIsNotSentAgainAndTheDpuGoesAtItsHardDeadlineSayingWhy() throws Exception {
    NpuNoticeStub npu = NpuNoticeStub.start(kit.system(), n -> null);
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "N-UNKNOWN", NpuNoticeStub.caps(npu.address(), 300, 800, 5000), 100);
    DpuAgentControlClient client = NpuNoticeStub.control(kit.system(), agent);
    RebootNoticeStatus started = request(client, 1200);
    RebootGoingNotice going = npu.nextGoing();
    assertEquals("hard deadline (the NPU rejected the notice: INVALID_ARGUMENT: unknown DPU 'N-UNKNOWN'; configured: DPU0)",
        going.getWhy());
    assertTrue(going.getAtUnixMs() >= started.getHardDeadlineUnixMs(), "it waited for its hard deadline");
    assertEquals(1, npu.notices.size(), "a rejected notice is not sent again");
    RebootNoticeStatus s = awaitNotice(client, n -> !n.getWentWhy().isEmpty());
    assertTrue(s.getLog(0).contains("NPU rejected the notice"), s.getLogList().toString());
  }

  @Test
  void anUnreachableNpuIsRetriedAndTheDpuGoesAtTheHardDeadline() throws Exception {
    String nobody = "127.0.0.1:" + Ports.freeLoopbackPort();
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "N-UNREACHABLE", NpuNoticeStub.caps(nobody, 300, 800, 5000), 100);
    DpuAgentControlClient client = NpuNoticeStub.control(kit.system(), agent);
    RebootNoticeStatus started = request(client, 1200);
    assertEquals(started.getPlannedUnixMs() + 1200, started.getHardDeadlineUnixMs());

    RebootNoticeStatus s = awaitNotice(client, n -> !n.getWentWhy().isEmpty());
    assertEquals("hard deadline", s.getWentWhy());
    assertTrue(s.getLog(0).startsWith("round 1: NPU unreachable"), s.getLog(0));
    assertTrue(s.getLogCount() >= 3, "retried: " + s.getLogList());
    assertEquals("hard deadline reached; rebooting", s.getLog(s.getLogCount() - 1));
    assertTrue(System.currentTimeMillis() >= started.getHardDeadlineUnixMs());
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      assertTrue(Harness.agentState(kit.system(), agent).completedCampaigns().contains(started.getNoticeId()));
      return null;
    });
  }

  @Test
  void postponeRebootHonoursOnlyAllowedIdentitiesAndCapsTheTime() throws Exception {
    NpuNoticeStub npu = NpuNoticeStub.start(kit.system(), n -> NpuNoticeStub.postpone(1500, "draining", "npu"));
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "N-OPERATOR", NpuNoticeStub.caps(npu.address(), 2000, 4000, 6000), 100);
    DpuAgentControlClient client = NpuNoticeStub.control(kit.system(), agent);
    // with nothing in flight that is the answer, whoever asks
    PostponeRebootResponse nothing = postpone(client, "intruder", "", System.currentTimeMillis() + 60_000);
    assertFalse(nothing.getAccepted());
    assertTrue(nothing.getMessage().startsWith("no DPU-initiated reboot is in flight"), nothing.getMessage());
    RebootNoticeStatus started = request(client, 0);
    awaitNotice(client, s -> s.getState().equals("POSTPONED"));

    PostponeRebootResponse intruder = postpone(client, "intruder", "", System.currentTimeMillis() + 60_000);
    assertFalse(intruder.getAccepted());
    assertEquals("identity intruder is not allowed to postpone; allowed: npu (dpu-coordinator.agent.reboot-notice.allowed-postponers)",
        intruder.getMessage());
    PostponeRebootResponse wrongNotice = postpone(client, "npu", "n-elsewhere", System.currentTimeMillis() + 60_000);
    assertFalse(wrongNotice.getAccepted());
    assertTrue(wrongNotice.getMessage().startsWith("notice n-elsewhere is not the current one"), wrongNotice.getMessage());

    long asked = System.currentTimeMillis();
    PostponeRebootResponse allowed = postpone(client, "npu", started.getNoticeId(), asked + 3_600_000);
    assertTrue(allowed.getAccepted(), allowed.getMessage());
    long granted = allowed.getPostponedUntilUnixMs() - asked;
    assertTrue(granted > 1500 && granted <= 2000 + 1000, "capped by max-postpone-per-request (2 s): " + granted);
    assertTrue(allowed.getMessage().endsWith("(capped)"), allowed.getMessage());
    // the NPU is told, so its view of the notice does not keep its own, overtaken answer
    io.github.dpucoordinator.proto.notice.RebootPostponedNotice told = npu.postponements.poll(10, java.util.concurrent.TimeUnit.SECONDS);
    assertTrue(told != null, "the NPU was told of the postponement");
    assertEquals(allowed.getPostponedUntilUnixMs(), told.getUntilUnixMs());
    assertEquals("npu", told.getBy());
    RebootNoticeStatus status = awaitNotice(client, s -> s.getPostponedUntilUnixMs() == allowed.getPostponedUntilUnixMs());
    assertTrue(status.getLog(status.getLogCount() - 1).startsWith("npu postponed until "), status.getLogList().toString());

    RebootNoticeStatus second = get(client.requestReboot(RequestRebootRequest.newBuilder().setReason("again").build()));
    assertFalse(second.getAccepted());
    assertTrue(second.getMessage().startsWith("notice " + started.getNoticeId() + " is already in flight"), second.getMessage());
  }

  @Test
  void withoutAnNpuTheDpuRebootsAtOnceAndAPostponementComesTooLate() throws Exception {
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "N-ALONE", NpuNoticeStub.caps("", 300, 800, 5000), 3000);
    DpuAgentControlClient client = NpuNoticeStub.control(kit.system(), agent);
    RebootNoticeStatus started = request(client, 0);
    assertEquals("REBOOTING", started.getState());
    assertEquals("no NPU configured (dpu-coordinator.agent.npu-address)", started.getWentWhy());
    assertEquals(0, started.getRounds());

    PostponeRebootResponse late = postpone(client, "npu", "", System.currentTimeMillis() + 60_000);
    assertFalse(late.getAccepted());
    assertTrue(late.getMessage().contains("is already rebooting"), late.getMessage());
    RebootNoticeStatus tooShort = get(client.requestReboot(RequestRebootRequest.newBuilder().setDeadlineMs(100).build()));
    assertFalse(tooShort.getAccepted());
    assertTrue(tooShort.getMessage().contains("shorter than dpu-coordinator.agent.reboot-notice.notice-timeout"), tooShort.getMessage());
    // found by the fuzzer: a deadline this long overflowed the timer and restarted the negotiator, losing the request
    RebootNoticeStatus tooLong = get(client.requestReboot(RequestRebootRequest.newBuilder().setDeadlineMs(Long.MAX_VALUE / 2).build()));
    assertFalse(tooLong.getAccepted());
    assertTrue(tooLong.getMessage().contains("is longer than 7 days"), tooLong.getMessage());
  }
}
