package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlClient;
import io.github.dpucoordinator.proto.agentctl.SetHoldRequest;
import io.github.dpucoordinator.proto.reboot.Disposition;
import io.github.dpucoordinator.proto.reboot.DpuState;
import io.github.dpucoordinator.proto.reboot.GetStateRequest;
import io.github.dpucoordinator.proto.reboot.GetStateResponse;
import io.github.dpucoordinator.proto.reboot.RebootKind;
import io.github.dpucoordinator.proto.reboot.RebootRequest;
import io.github.dpucoordinator.proto.reboot.RebootResponse;
import io.github.dpucoordinator.proto.reboot.RebootServiceClient;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Holds as the NPU sees them on the wire: DEFERRED answers, protective state and safe_to_power_off in GetState. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HoldsOverGrpcTest {
  private final ActorTestKit kit = ActorTestKit.create("holds", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aDeferringDpuAnswersDeferredUntilForcedAndReportsItsHoldsInGetState() throws Exception {
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "H0", NpuNoticeStub.caps("", 300, 800, 5000), 300);
    DpuAgentControlClient control = NpuNoticeStub.control(kit.system(), agent);
    RebootServiceClient npu = RebootServiceClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", agent.port(), kit.system())
        .withTls(false).withDeadline(Duration.ofSeconds(10)), kit.system());

    long before = System.currentTimeMillis();
    get(control.setHold(SetHoldRequest.newBuilder().setHold("defer").setReason("tenant batch job").setDurationMs(60_000).build()));
    RebootResponse deferred = get(npu.sendRebootSignal(RebootRequest.newBuilder().setSignal("reboot").setCampaignId("c1")
        .setKind(RebootKind.COLD).build()));
    assertEquals(Disposition.DEFERRED, deferred.getDisposition());
    assertEquals("tenant batch job", deferred.getDeferReason());
    assertTrue(deferred.getDeferUntilUnixMs() >= before + 60_000, deferred.toString());
    assertEquals(DpuState.LISTENING, deferred.getState());

    GetStateResponse s = get(npu.getState(GetStateRequest.getDefaultInstance()));
    assertEquals(deferred.getDeferUntilUnixMs(), s.getDeferUntilUnixMs());
    assertEquals("tenant batch job", s.getDeferReason());
    assertEquals(0, s.getShutdownRuns());

    get(control.setHold(SetHoldRequest.newBuilder().setHold("crash-dump").setReason("kdump").build()));
    RebootResponse refused = get(npu.sendRebootSignal(RebootRequest.newBuilder().setCampaignId("c0").setKind(RebootKind.COLD)
        .setForce(true).build()));
    assertEquals(Disposition.REFUSED, refused.getDisposition(), "nothing starts during a crash dump, even forced");
    assertEquals("crash-dump", refused.getProtective());
    assertEquals("kdump", refused.getProtectiveReason());
    get(control.setHold(SetHoldRequest.newBuilder().setHold("clear").build()));
    get(control.setHold(SetHoldRequest.newBuilder().setHold("defer").setReason("tenant batch job").setDurationMs(600_000).build()));

    RebootResponse forced = get(npu.sendRebootSignal(RebootRequest.newBuilder().setCampaignId("c1").setKind(RebootKind.COLD)
        .setForce(true).build()));
    assertEquals(Disposition.STARTED, forced.getDisposition(), "force ignores the deferral");
    get(control.setHold(SetHoldRequest.newBuilder().setHold("crash-dump").setReason("kdump").build()));

    GetStateResponse held = get(npu.getState(GetStateRequest.newBuilder().setKnownVersion(forced.getVersion()).setWaitMs(500).build()));
    assertEquals(DpuState.SHUTDOWN, held.getState(), "the crash dump holds the shutdown");
    assertEquals("crash-dump", held.getProtective());
    assertEquals("kdump", held.getProtectiveReason());
    assertTrue(held.getProtectiveSinceUnixMs() >= before);
    assertFalse(held.getSafeToPowerOff());

    get(control.setHold(SetHoldRequest.newBuilder().setHold("clear").build()));
    GetStateResponse done = kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      GetStateResponse r = get(npu.getState(GetStateRequest.getDefaultInstance()));
      assertEquals(DpuState.WAIT_FOR_RESTART, r.getState());
      return r;
    });
    assertTrue(done.getSafeToPowerOff());
    assertEquals("", done.getProtective());
    assertEquals(0, done.getDeferUntilUnixMs());
    assertTrue(done.getCompletedCampaignsList().contains("c1"));
  }
}
