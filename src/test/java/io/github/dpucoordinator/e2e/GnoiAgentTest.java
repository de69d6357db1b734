package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import gnoi.system.IndependentGnoiSystem.CancelRebootRequest;
import gnoi.system.IndependentGnoiSystem.RebootMethod;
import gnoi.system.IndependentGnoiSystem.RebootRequest;
import gnoi.system.IndependentGnoiSystem.RebootStatus;
import gnoi.system.IndependentGnoiSystem.RebootStatusRequest;
import gnoi.system.IndependentGnoiSystem.RebootStatusResponse;
import gnoi.system.IndependentGnoiSystem.TimeRequest;
import gnoi.system.SystemClient;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.ProtectiveTrailers;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlClient;
import io.github.dpucoordinator.proto.agentctl.HoldStatus;
import io.github.dpucoordinator.proto.agentctl.SetHoldRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** `dpuctl dpu` as any gNOI client sees it: a client compiled from an independent gnoi.system proto. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GnoiAgentTest {
  private final ActorTestKit kit = ActorTestKit.create("gnoi-agent", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private SystemClient agent(String id, long shutdownMs) throws Exception {
    return agent(id, shutdownMs, "");
  }

  private SystemClient agent(String id, long shutdownMs, String rebootCommand) throws Exception {
    return gnoi(start(id, shutdownMs, rebootCommand));
  }

  private AgentServer.Running start(String id, long shutdownMs, String rebootCommand) throws Exception {
    AgentSettings settings = AgentSettings.create(AppConfig.load()).withId(id).withPort(0)
        .withSteps(List.of(StepSpec.simulated("work", Duration.ofMillis(shutdownMs))))
        .withSimulatedRebootTime(Duration.ofMillis(300)).withRebootCommand(rebootCommand);
    return AgentServer.start(kit.system(), settings).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private SystemClient gnoi(AgentServer.Running running) {
    return SystemClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", running.port(), kit.system()).withTls(false),
        kit.system());
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static Status.Code failure(SystemClient client, RebootRequest request) {
    try {
      get(client.reboot(request));
    } catch (ExecutionException e) {
      return ((StatusRuntimeException) e.getCause()).getStatus().getCode();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("expected " + request.getMethod() + " to be refused");
  }

  private RebootStatusResponse awaitStatus(SystemClient client, java.util.function.Predicate<RebootStatusResponse> ok) {
    return kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      RebootStatusResponse s = get(client.rebootStatus(RebootStatusRequest.getDefaultInstance()));
      assertTrue(ok.test(s), s::toString);
      return s;
    });
  }

  @Test
  void anIdleAgentAnswersAnEmptyStatusAndItsTime() throws Exception {
    SystemClient client = agent("G0", 100);
    RebootStatusResponse idle = get(client.rebootStatus(RebootStatusRequest.getDefaultInstance()));
    assertOnlyTheBootIdIsSet(idle, "idle status has every gNOI field at its default, as SONiC's");
    long nowNanos = java.lang.System.currentTimeMillis() * 1_000_000L;
    long time = get(client.time(TimeRequest.getDefaultInstance())).getTime();
    assertTrue(Math.abs(time - nowNanos) < 5_000_000_000L, "Time is nanoseconds since the epoch: " + time);
  }

  @Test
  void haltShutsDownStaysHaltedAndReportsSuccessAndARebootWhileActiveIsRefused() throws Exception {
    SystemClient client = agent("G1", 1500);
    get(client.reboot(RebootRequest.newBuilder().setMethod(RebootMethod.HALT).setMessage("maintenance").build()));

    RebootStatusResponse active = get(client.rebootStatus(RebootStatusRequest.getDefaultInstance()));
    assertTrue(active.getActive());
    assertEquals(RebootMethod.HALT, active.getMethod());
    assertEquals("maintenance", active.getReason());
    assertEquals(1, active.getCount());
    assertTrue(Math.abs(active.getWhen() / 1_000_000L - java.lang.System.currentTimeMillis()) < 5000, "when is ns since the epoch");

    assertEquals(Status.Code.INVALID_ARGUMENT, failure(client, RebootRequest.newBuilder().setMethod(RebootMethod.HALT).build()),
        "a second Reboot while one runs is refused like SONiC's: INVALID_ARGUMENT");

    RebootStatusResponse done = awaitStatus(client, s -> !s.getActive());
    assertEquals(RebootStatus.Status.STATUS_SUCCESS, done.getStatus().getStatus());
    assertEquals("Halt reboot completed", done.getStatus().getMessage());

    // halted is halted: another HALT is accepted and runs nothing
    get(client.reboot(RebootRequest.newBuilder().setMethod(RebootMethod.HALT).build()));
    assertEquals(1, get(client.rebootStatus(RebootStatusRequest.getDefaultInstance())).getCount());
  }

  @Test
  void aHaltWithAFailedStepReachesTheNpusGnoiClientAsADegradedCompletionWithTheStepAndItsError() throws Exception {
    AgentSettings settings = AgentSettings.create(AppConfig.load()).withId("G9").withPort(0)
        .withSteps(List.of(StepSpec.command("flush-disk", "echo disk busy >&2; exit 4", Duration.ofSeconds(5))));
    AgentServer.Running running = AgentServer.start(kit.system(), settings).toCompletableFuture().get(30, TimeUnit.SECONDS);
    io.github.dpucoordinator.npu.transport.GnoiDpuTransport npu = npuTransport();
    io.github.dpucoordinator.npu.transport.DpuEndpoint dpu = endpoint(running);
    get(npu.signal(dpu, new io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest("c9", "cold", "test", 0), Duration.ofSeconds(5)));
    io.github.dpucoordinator.npu.transport.DpuTransport.Observation done = kit.createTestProbe().awaitAssert(Duration.ofSeconds(10),
        Duration.ofMillis(100), () -> {
          var o = get(npu.observe(dpu, "c9", -1, Duration.ZERO, Duration.ofSeconds(5)));
          assertTrue(o.completed("c9"), o.toString());
          return o;
        });
    assertTrue(done.degraded(), done.toString());
    assertEquals("flush-disk (exit 4: disk busy)", done.detail());
    // in a field of its own, not only in the message: the NPU reads the field
    io.github.dpucoordinator.proto.gnoi.system.SystemClient ours = io.github.dpucoordinator.proto.gnoi.system.SystemClient.create(
        GrpcClientSettings.connectToServiceAt("127.0.0.1", running.port(), kit.system()).withTls(false), kit.system());
    var status = get(ours.rebootStatus(io.github.dpucoordinator.proto.gnoi.system.RebootStatusRequest.getDefaultInstance()));
    assertEquals(List.of("flush-disk (exit 4: disk busy)"), status.getDpuCoordinatorFailedStepsList());
    // a gNOI client compiled from openconfig's proto sees the message it always saw
    assertTrue(get(gnoi(running).rebootStatus(RebootStatusRequest.getDefaultInstance())).getStatus().getMessage()
        .endsWith("failed steps: flush-disk (exit 4: disk busy)"));
    ours.close();
    npu.close();
  }

  /**
   * A HALT repeated for the same campaign (its first answer lost, or it arrived late, after the DPU was back) does not run
   * the shutdown again: the NPU names its campaign in field 1001 (NetworkFaultsTest's 30 % loss ran one twice); another
   * campaign's does, and so does a Reboot from a client that names none (openconfig's proto).
   */
  @Test
  void aHaltRepeatedForTheSameCampaignIsNotRunTwiceEvenAfterTheDpuIsBack() throws Exception {
    AgentServer.Running running = start("G10", 50, "");
    io.github.dpucoordinator.npu.transport.GnoiDpuTransport npu = npuTransport();
    io.github.dpucoordinator.npu.transport.DpuEndpoint dpu = endpoint(running);
    var c1 = new io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest("c-once", "cold", "test", 0);
    get(npu.signal(dpu, c1, Duration.ofSeconds(5)));
    awaitAgent(running, s -> s.shutdownRuns() == 1 && s.state().shutDown());
    get(npu.signal(dpu, c1, Duration.ofSeconds(5))); // while it is halted
    powerCycled(running);
    get(npu.signal(dpu, c1, Duration.ofSeconds(5))); // after it is back
    assertEquals(io.github.dpucoordinator.agent.machine.AgentState.LISTENING, Harness.agentState(kit.system(), running).state());
    assertEquals(1, Harness.agentState(kit.system(), running).shutdownRuns(), "one shutdown for campaign c-once");
    get(npu.signal(dpu, new io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest("c-next", "cold", "test", 0),
        Duration.ofSeconds(5)));
    awaitAgent(running, s -> s.shutdownRuns() == 2);
    powerCycled(running);
    get(gnoi(running).reboot(RebootRequest.newBuilder().setMethod(RebootMethod.HALT).setMessage("campaign c-once: by hand").build()));
    awaitAgent(running, s -> s.shutdownRuns() == 3); // no field, no campaign: as any gNOI Reboot
    npu.close();
  }

  /** The NPU's own gNOI transport (what a campaign signals and polls with), calls bounded at 10 s. */
  private io.github.dpucoordinator.npu.transport.GnoiDpuTransport npuTransport() {
    return new io.github.dpucoordinator.npu.transport.GnoiDpuTransport(kit.system(), Duration.ofSeconds(10), "HALT");
  }

  private static io.github.dpucoordinator.npu.transport.DpuEndpoint endpoint(AgentServer.Running running) {
    return new io.github.dpucoordinator.npu.transport.DpuEndpoint(running.dpuId(), "127.0.0.1", running.port());
  }

  /** The DPU power-cycled (a simulated restart), once it listens again. */
  private void powerCycled(AgentServer.Running running) {
    running.agent().tell(io.github.dpucoordinator.agent.machine.DpuAgent.SimulatedPowerCycle.INSTANCE);
    awaitAgent(running, s -> s.state() == io.github.dpucoordinator.agent.machine.AgentState.LISTENING);
  }

  private void awaitAgent(AgentServer.Running running, java.util.function.Predicate<io.github.dpucoordinator.agent.machine.AgentSnapshot> ok) {
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      var s = Harness.agentState(kit.system(), running);
      assertTrue(ok.test(s), s.toString());
      return s;
    });
  }

  /**
   * Every field gNOI defines is at its default; the one field set is this project's boot id (field 1002), which a client
   * compiled from openconfig's proto, like this one, keeps as unknown and skips.
   */
  private static void assertOnlyTheBootIdIsSet(RebootStatusResponse s, String why) {
    assertEquals(0, s.toBuilder().setUnknownFields(com.google.protobuf.UnknownFieldSet.getDefaultInstance()).build().getSerializedSize(), why);
    assertEquals(java.util.Set.of(1002), s.getUnknownFields().asMap().keySet(), why);
  }

  @Test
  void theNpusGnoiClientSeesTheAgentsBootIdAndANewOneAfterTheAgentRestarted() throws Exception {
    // so that a DPU which announced its own reboot and came back while nobody watched is known to be back
    AgentServer.Running running = start("G8", 50, "");
    io.github.dpucoordinator.npu.transport.GnoiDpuTransport npu = npuTransport();
    io.github.dpucoordinator.npu.transport.DpuEndpoint dpu = endpoint(running);
    String before = get(npu.observe(dpu, "", -1, Duration.ZERO, Duration.ofSeconds(5))).bootId();
    assertEquals(Harness.agentState(kit.system(), running).bootId(), before);
    running.agent().tell(io.github.dpucoordinator.agent.machine.DpuAgent.SimulatedPowerCycle.INSTANCE);
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      var o = get(npu.observe(dpu, "", -1, Duration.ZERO, Duration.ofSeconds(5)));
      assertTrue(o.listening() && !o.bootId().isEmpty() && !o.bootId().equals(before), o.toString());
      return o;
    });
    npu.close();
  }

  @Test
  void unknownAndUnsupportedMethodsAreInvalidArguments() throws Exception {
    SystemClient client = agent("G2", 100);
    for (RebootMethod m : List.of(RebootMethod.UNKNOWN, RebootMethod.POWERDOWN, RebootMethod.NSF, RebootMethod.POWERUP)) {
      assertEquals(Status.Code.INVALID_ARGUMENT, failure(client, RebootRequest.newBuilder().setMethod(m).build()), m.name());
    }
    assertOnlyTheBootIdIsSet(get(client.rebootStatus(RebootStatusRequest.getDefaultInstance())), "nothing ran");
  }

  @Test
  void aDelayedRebootIsScheduledAndCancelledAndCancelWithNothingPendingIsOk() throws Exception {
    SystemClient client = agent("G3", 100);
    get(client.cancelReboot(CancelRebootRequest.getDefaultInstance())); // nothing pending: OK
    long delay = Duration.ofMinutes(10).toNanos();
    get(client.reboot(RebootRequest.newBuilder().setMethod(RebootMethod.COLD).setDelay(delay).setMessage("later").build()));
    RebootStatusResponse scheduled = get(client.rebootStatus(RebootStatusRequest.getDefaultInstance()));
    assertTrue(scheduled.getActive());
    assertTrue(scheduled.getWait() > Duration.ofMinutes(9).toNanos() && scheduled.getWait() <= delay, "wait: " + scheduled.getWait());
    assertEquals(0, scheduled.getCount(), "nothing has run yet");
    assertEquals(Status.Code.INVALID_ARGUMENT, failure(client, RebootRequest.newBuilder().setMethod(RebootMethod.HALT).build()),
        "a Reboot while one is scheduled is refused");

    get(client.cancelReboot(CancelRebootRequest.newBuilder().setMessage("changed my mind").build()));
    RebootStatusResponse after = get(client.rebootStatus(RebootStatusRequest.getDefaultInstance()));
    assertFalse(after.getActive());
    assertEquals(0, after.getCount());
  }

  @Test
  void aColdRebootWhoseRebootCommandFailsReportsFailureWithTheReason() throws Exception {
    SystemClient client = agent("G5", 100, "echo no permission >&2; exit 4");
    get(client.reboot(RebootRequest.newBuilder().setMethod(RebootMethod.COLD).setMessage("upgrade").build()));
    RebootStatusResponse failed = awaitStatus(client, s -> !s.getActive());
    assertEquals(RebootStatus.Status.STATUS_FAILURE, failed.getStatus().getStatus());
    assertTrue(failed.getStatus().getMessage().contains("exit 4: no permission"), failed.toString());
    assertEquals(RebootMethod.COLD, failed.getMethod());
  }

  @Test
  void coldShutsDownThenRestartsAndCountsTheReboot() throws Exception {
    SystemClient client = agent("G4", 200);
    get(client.reboot(RebootRequest.newBuilder().setMethod(RebootMethod.COLD).setMessage("upgrade").build()));
    assertTrue(get(client.rebootStatus(RebootStatusRequest.getDefaultInstance())).getActive());
    // 200 ms shutdown, then the simulated 300 ms restart: back, idle, one reboot counted
    RebootStatusResponse back = awaitStatus(client, s -> !s.getActive());
    assertEquals(1, back.getCount());
    assertEquals(RebootMethod.UNKNOWN, back.getMethod(), "a restarted DPU reports no reboot in progress");
  }

  @Test
  void aRebootDuringAFirmwareUpdateIsUnavailableAndStartsNothingButADeferralDoesNotApply() throws Exception {
    AgentServer.Running running = start("G6", 100, "");
    SystemClient client = gnoi(running);
    DpuAgentControlClient control = DpuAgentControlClient.create(
        GrpcClientSettings.connectToServiceAt("127.0.0.1", running.port(), kit.system()).withTls(false), kit.system());
    HoldStatus hold = get(control.setHold(SetHoldRequest.newBuilder().setHold("firmware-update").setReason("flashing NIC").build()));
    assertTrue(hold.getAccepted(), hold.getMessage());
    assertEquals("firmware-update", hold.getProtective());
    assertFalse(get(control.setHold(SetHoldRequest.newBuilder().setHold("nap").build())).getAccepted());

    try {
      get(client.reboot(RebootRequest.newBuilder().setMethod(RebootMethod.HALT).build()));
      throw new AssertionError("expected HALT to be refused during a firmware update");
    } catch (ExecutionException e) {
      Status status = ((StatusRuntimeException) e.getCause()).getStatus();
      assertEquals(Status.Code.UNAVAILABLE, status.getCode());
      assertEquals("protective state firmware-update: flashing NIC", status.getDescription());
      // and in trailers, which the NPU reads instead of the description
      assertEquals(java.util.Optional.of(new ProtectiveTrailers.Protective("firmware-update", "flashing NIC")), ProtectiveTrailers.in(e));
    }
    io.github.dpucoordinator.npu.transport.GnoiDpuTransport npu = new io.github.dpucoordinator.npu.transport.GnoiDpuTransport(kit.system(),
        Duration.ofSeconds(10), "HALT");
    var refused = get(npu.signal(new io.github.dpucoordinator.npu.transport.DpuEndpoint("G6", "127.0.0.1", running.port()),
        new io.github.dpucoordinator.npu.transport.DpuTransport.SignalRequest("c6", "cold", "test", 0), Duration.ofSeconds(5)));
    assertEquals(io.github.dpucoordinator.npu.transport.DpuTransport.Disposition.PROTECTIVE, refused.disposition());
    assertEquals("firmware-update: flashing NIC", refused.ack());
    npu.close();
    assertOnlyTheBootIdIsSet(get(client.rebootStatus(RebootStatusRequest.getDefaultInstance())), "nothing started");

    get(control.setHold(SetHoldRequest.newBuilder().setHold("clear").build()));
    get(control.setHold(SetHoldRequest.newBuilder().setHold("defer").setDurationMs(600_000).setReason("batch").build()));
    get(client.reboot(RebootRequest.newBuilder().setMethod(RebootMethod.HALT).build()));
    assertTrue(get(client.rebootStatus(RebootStatusRequest.getDefaultInstance())).getActive(), "gNOI has no deferral");
  }
}
