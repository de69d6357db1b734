package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.cli.CliRunner;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.Ports;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** dpuctl dpu-reboot, dpu-hold and dpu-postpone against a running agent, as a user on the DPU runs them. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DpuCliTest {
  private final ActorTestKit kit = ActorTestKit.create("dpu-cli", AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void dpuRebootPrintsTheNegotiationUntilTheDpuGoesAndExitsZero() throws Exception {
    NpuNoticeStub npu = NpuNoticeStub.start(kit.system(),
        n -> n.getRound() == 1 ? NpuNoticeStub.postpone(600, "migrating VMs", "npu") : NpuNoticeStub.ack());
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "CLI0", NpuNoticeStub.caps(npu.address(), 2000, 3000, 5000), 100);
    String address = "127.0.0.1:" + agent.port();

    CliRunner.Run r = CliRunner.dpuctl("dpu-reboot", "--id", "CLI0", "--reason", "kernel upgrade", "--deadline", "30s", "--agent", address);
    assertEquals(0, r.exit(), r.err());
    List<String> lines = r.out().lines().toList();
    assertEquals(4, lines.size(), r.out());
    assertTrue(lines.get(0).matches("notice n\\S+: CLI0 reboots \\(kernel upgrade\\); planned \\d\\d:\\d\\d:\\d\\dZ, hard deadline \\S+"), r.out());
    assertTrue(lines.get(1).matches("round 1: NPU \\(npu\\) answered POSTPONE until \\S+ \\(migrating VMs\\); granted until \\S+"), r.out());
    assertEquals("round 2: NPU (npu) answered ACK; rebooting", lines.get(2));
    assertEquals("CLI0 is rebooting (why: acknowledged)", lines.get(3));
    assertEquals("acknowledged", npu.nextGoing().getWhy());

    CliRunner.Run wrongDpu = CliRunner.dpuctl("dpu-reboot", "--id", "CLI9", "--agent", address);
    assertEquals(2, wrongDpu.exit());
    assertTrue(wrongDpu.err().contains("the agent at " + address + " is DPU CLI0, not CLI9"), wrongDpu.err());
  }

  @Test
  void dpuHoldAndDpuPostponeReportWhatTheAgentDidAndRefusalsExitThree() throws Exception {
    AgentServer.Running agent = NpuNoticeStub.agent(kit.system(), "CLI1", NpuNoticeStub.caps("", 300, 800, 5000), 100);
    String address = "127.0.0.1:" + agent.port();

    CliRunner.Run hold = CliRunner.dpuctl("dpu-hold", "firmware-update", "--reason", "flashing NIC", "--for", "10m", "--agent", address);
    assertEquals(0, hold.exit(), hold.err());
    assertTrue(hold.out().startsWith("protective state firmware-update (flashing NIC) until "), hold.out());
    assertTrue(hold.out().contains("protective: firmware-update (flashing NIC) since "), hold.out());
    assertTrue(hold.out().contains("host reboots: not deferred"), hold.out());

    CliRunner.Run postpone = CliRunner.dpuctl("dpu-postpone", "--until", "5m", "--agent", address);
    assertEquals(3, postpone.exit());
    assertTrue(postpone.err().contains("no DPU-initiated reboot is in flight"), "what there is to postpone comes first: " + postpone.err());

    CliRunner.Run deferNoNpu = CliRunner.dpuctl("dpu-hold", "defer", "--for", "10m", "--agent", address);
    assertEquals(0, deferNoNpu.exit(), deferNoNpu.err());
    assertTrue(deferNoNpu.out().contains("only an NPU speaking the seed's RebootService honours a deferral"), deferNoNpu.out());
    // an NPU that speaks gNOI to this DPU (its RebootStatus polls) cannot be deferred: said when the deferral is set
    io.github.dpucoordinator.proto.gnoi.system.SystemClient gnoi = io.github.dpucoordinator.proto.gnoi.system.SystemClient.create(
        org.apache.pekko.grpc.GrpcClientSettings.connectToServiceAt("127.0.0.1", agent.port(), kit.system()).withTls(false), kit.system());
    gnoi.rebootStatus(io.github.dpucoordinator.proto.gnoi.system.RebootStatusRequest.getDefaultInstance()).toCompletableFuture()
        .get(10, java.util.concurrent.TimeUnit.SECONDS);
    CliRunner.Run deferGnoi = CliRunner.dpuctl("dpu-hold", "defer", "--for", "10m", "--agent", address);
    assertEquals(0, deferGnoi.exit(), deferGnoi.err());
    assertTrue(deferGnoi.out().contains("WARNING: the NPU speaks gNOI to this DPU"), deferGnoi.out());
    assertTrue(deferGnoi.out().contains("its next campaign halts this DPU anyway"), deferGnoi.out());

    assertEquals(2, CliRunner.dpuctl("dpu-hold", "defer", "--agent", address).exit(), "defer needs --for");
    assertEquals(2, CliRunner.dpuctl("dpu-hold", "nap", "--agent", address).exit());
    CliRunner.Run badDeadline = CliRunner.dpuctl("dpu-reboot", "--deadline", "soon", "--agent", address);
    assertEquals(2, badDeadline.exit());
    assertTrue(badDeadline.err().contains("--deadline 'soon' is not a duration"), badDeadline.err());

    CliRunner.Run unreachable = CliRunner.dpuctl("dpu-hold", "clear", "--agent", "127.0.0.1:" + Ports.freeLoopbackPort());
    assertEquals(4, unreachable.exit());
    assertTrue(unreachable.err().contains("cannot reach the DPU agent at 127.0.0.1:"), unreachable.err());
  }
}
