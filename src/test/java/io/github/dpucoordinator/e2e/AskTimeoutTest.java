package io.github.dpucoordinator.e2e;

import io.github.dpucoordinator.npu.chassis.Chassis;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.api.GnoiSystemServiceImpl;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.npu.api.AdminServiceImpl;
import io.github.dpucoordinator.npu.api.DpuNoticeServiceImpl;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.proto.admin.NpuAdmin;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.NpuAdminHandlerFactory;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import io.github.dpucoordinator.proto.gnoi.system.RebootMethod;
import io.github.dpucoordinator.proto.gnoi.system.RebootRequest;
import io.github.dpucoordinator.proto.gnoi.system.SystemClient;
import io.github.dpucoordinator.proto.gnoi.system.SystemHandlerFactory;
import io.github.dpucoordinator.proto.notice.DpuRebootNotices;
import io.github.dpucoordinator.proto.notice.DpuRebootNoticesClient;
import io.github.dpucoordinator.proto.notice.DpuRebootNoticesPowerApiHandlerFactory;
import io.github.dpucoordinator.proto.notice.RebootGoingNotice;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A call whose actor does not answer in time (a coordinator busy recovering, an agent stuck) reaches the caller as
 * DEADLINE_EXCEEDED naming the setting that bounds it, over the real gRPC APIs, never as INTERNAL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AskTimeoutTest {
  private final Config config = AppConfig.with(AppConfig.with(AppConfig.load(), "dpu-coordinator.npu.admin.ask-timeout", "300ms"),
      "dpu-coordinator.agent.ask-timeout", "300ms");
  private final ActorTestKit kit = ActorTestKit.create("ask-timeout", config);

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private static Status.Code failure(java.util.concurrent.CompletionStage<?> call, String mentions) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> call.toCompletableFuture().get(20, TimeUnit.SECONDS));
    StatusRuntimeException s = (StatusRuntimeException) e.getCause();
    assertTrue(String.valueOf(s.getStatus().getDescription()).contains(mentions), s.getStatus().toString());
    return s.getStatus().getCode();
  }

  @Test
  void theAdminAndDpuApisAnswerDeadlineExceededWhenTheCoordinatorDoesNotAnswer(@TempDir Path dir) throws Exception {
    NpuSettings settings = NpuSettings.create(AppConfig.withDataDir(config, dir));
    TestProbe<NpuProtocol.Command> silent = kit.createTestProbe(); // a coordinator that never answers
    AdminServiceImpl admin = new AdminServiceImpl(silent.ref(), kit.system(), settings, null);
    DpuNoticeServiceImpl notices = new DpuNoticeServiceImpl(silent.ref(), kit.system(), settings);
    ServerBinding binding = GrpcServers.bind(kit.system(), "127.0.0.1", 0, List.of(
        new GrpcServers.Service(NpuAdmin.description, NpuAdminHandlerFactory.partial(admin, NpuAdmin.name, kit.system())),
        new GrpcServers.Service(DpuRebootNotices.description,
            DpuRebootNoticesPowerApiHandlerFactory.partial(notices, DpuRebootNotices.name, kit.system())))).toCompletableFuture().get(10, TimeUnit.SECONDS);
    try {
      int port = binding.localAddress().getPort();
      NpuAdminClient client = Harness.admin(kit.system(), port);
      assertEquals(Status.Code.DEADLINE_EXCEEDED, failure(client.status(StatusRequest.getDefaultInstance()),
          "no answer from the service within dpu-coordinator.npu.admin.ask-timeout (300 ms)"));
      silent.expectMessageClass(Chassis.GetStatus.class);
      DpuRebootNoticesClient dpuApi = DpuRebootNoticesClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", port, kit.system())
          .withTls(false), kit.system());
      assertEquals(Status.Code.DEADLINE_EXCEEDED, failure(dpuApi.rebootGoing(RebootGoingNotice.newBuilder().setDpuId("DPU0")
          .setNoticeId("n1").build()), "dpu-coordinator.npu.admin.ask-timeout"));
      silent.expectMessageClass(NpuProtocol.GoingReceived.class);
    } finally {
      binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theAgentsGnoiApiAnswersDeadlineExceededWhenTheAgentDoesNotAnswer() throws Exception {
    TestProbe<DpuAgent.Command> silent = kit.createTestProbe(); // an agent that never answers
    GnoiSystemServiceImpl gnoi = new GnoiSystemServiceImpl(silent.ref(), kit.system(), Clock.systemUTC());
    String name = io.github.dpucoordinator.proto.gnoi.system.System.name;
    ServerBinding binding = GrpcServers.bind(kit.system(), "127.0.0.1", 0, List.of(new GrpcServers.Service(
        io.github.dpucoordinator.proto.gnoi.system.System.description, SystemHandlerFactory.partial(gnoi, name, kit.system()))))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    try {
      SystemClient client = SystemClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", binding.localAddress().getPort(),
          kit.system()).withTls(false), kit.system());
      assertEquals(Status.Code.DEADLINE_EXCEEDED, failure(client.reboot(RebootRequest.newBuilder().setMethod(RebootMethod.HALT).build()),
          "no answer from the service within dpu-coordinator.agent.ask-timeout (300 ms)"));
      silent.expectMessageClass(DpuAgent.Signal.class, Duration.ofSeconds(5));
    } finally {
      binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
