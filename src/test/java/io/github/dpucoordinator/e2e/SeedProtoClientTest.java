package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.agent.AgentServer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import reboot.RebootServiceClient;
import reboot.SeedReboot.RebootRequest;
import reboot.SeedReboot.RebootResponse;

/** A client compiled from the seed's proto exactly as printed (src/test/protobuf) talks to our agent. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SeedProtoClientTest {
  private final ActorTestKit kit = ActorTestKit.create("seed", io.github.dpucoordinator.common.AppConfig.load());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void aClientBuiltFromTheSeedProtoGetsAMeaningfulAck() throws Exception {
    List<AgentServer.Running> agents = Harness.startAgents(kit.system(), "S", 1, 2000);
    RebootServiceClient client = RebootServiceClient.create(
        GrpcClientSettings.connectToServiceAt("127.0.0.1", agents.get(0).port(), kit.system()).withTls(false), kit.system());
    RebootResponse first = client.sendRebootSignal(RebootRequest.newBuilder().setSignal("reboot").build())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(first.getAck().startsWith("ACK STARTED: graceful shutdown initiated (dpu S0"), first.getAck());
    RebootResponse second = client.sendRebootSignal(RebootRequest.newBuilder().setSignal("reboot").build())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(second.getAck().startsWith("ACK IN_PROGRESS"), second.getAck());
    client.close();
  }
}
