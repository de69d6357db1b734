package io.github.dpucoordinator.e2e;

import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.agent.settings.RebootNoticeSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlClient;
import io.github.dpucoordinator.proto.notice.Decision;
import io.github.dpucoordinator.proto.notice.DpuRebootNotice;
import io.github.dpucoordinator.proto.notice.DpuRebootNotices;
import io.github.dpucoordinator.proto.notice.DpuRebootNoticesHandlerFactory;
import io.github.dpucoordinator.proto.notice.NoticeAnswer;
import io.github.dpucoordinator.proto.notice.RebootGoingAck;
import io.github.dpucoordinator.proto.notice.RebootGoingNotice;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.http.javadsl.ServerBinding;

/**
 * The NPU's DpuRebootNotices as the negotiation tests need it, on a loopback port: answers from a
 * script, every notice and RebootGoing recorded with its arrival time. Plus the agent those tests run.
 */
final class NpuNoticeStub implements DpuRebootNotices {

  record Received(DpuRebootNotice notice, long atMillis) {}

  final BlockingQueue<Received> notices = new LinkedBlockingQueue<>();
  final BlockingQueue<RebootGoingNotice> goings = new LinkedBlockingQueue<>();
  final BlockingQueue<io.github.dpucoordinator.proto.notice.RebootPostponedNotice> postponements = new LinkedBlockingQueue<>();
  private final Function<DpuRebootNotice, NoticeAnswer> script;
  private ServerBinding binding;

  private NpuNoticeStub(Function<DpuRebootNotice, NoticeAnswer> script) {
    this.script = script;
  }

  static NpuNoticeStub start(ActorSystem<?> system, Function<DpuRebootNotice, NoticeAnswer> script) throws Exception {
    NpuNoticeStub stub = new NpuNoticeStub(script);
    stub.binding = GrpcServers.bind(system, "127.0.0.1", 0, List.of(new GrpcServers.Service(DpuRebootNotices.description,
        DpuRebootNoticesHandlerFactory.partial(stub, DpuRebootNotices.name, system)))).toCompletableFuture().get(10, TimeUnit.SECONDS);
    return stub;
  }

  String address() {
    return "127.0.0.1:" + binding.localAddress().getPort();
  }

  @Override
  public CompletionStage<NoticeAnswer> notifyReboot(DpuRebootNotice in) {
    notices.add(new Received(in, System.currentTimeMillis()));
    NoticeAnswer answer = script.apply(in);
    // no answer: rejected, as the NPU rejects a DPU it does not know
    return answer != null ? CompletableFuture.completedFuture(answer) : CompletableFuture.failedFuture(
        new org.apache.pekko.grpc.GrpcServiceException(io.grpc.Status.INVALID_ARGUMENT.withDescription(
            "unknown DPU '" + in.getDpuId() + "'; configured: DPU0")));
  }

  @Override
  public CompletionStage<RebootGoingAck> rebootGoing(RebootGoingNotice in) {
    goings.add(in);
    return CompletableFuture.completedFuture(RebootGoingAck.newBuilder().setMessage("noted").build());
  }

  @Override
  public CompletionStage<io.github.dpucoordinator.proto.notice.RebootPostponedAck> rebootPostponed(
      io.github.dpucoordinator.proto.notice.RebootPostponedNotice in) {
    postponements.add(in);
    return CompletableFuture.completedFuture(io.github.dpucoordinator.proto.notice.RebootPostponedAck.newBuilder().setMessage("noted").build());
  }

  Received nextNotice() throws InterruptedException {
    Received r = notices.poll(10, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("no notice reached the NPU");
    }
    return r;
  }

  RebootGoingNotice nextGoing() throws InterruptedException {
    RebootGoingNotice g = goings.poll(10, TimeUnit.SECONDS);
    if (g == null) {
      throw new AssertionError("the NPU was not told the DPU is going");
    }
    return g;
  }

  static NoticeAnswer ack() {
    return NoticeAnswer.newBuilder().setDecision(Decision.ACK).setResponder("npu").build();
  }

  static NoticeAnswer postpone(long forMillis, String reason, String responder) {
    return NoticeAnswer.newBuilder().setDecision(Decision.POSTPONE).setPostponeUntilUnixMs(System.currentTimeMillis() + forMillis)
        .setReason(reason).setResponder(responder).build();
  }

  /** Caps short enough for a test: notice-timeout 400 ms, retries every 200 ms, "npu" may postpone. */
  static RebootNoticeSettings caps(String npuAddress, long perRequestMs, long totalMs, long deadlineMs) {
    return new RebootNoticeSettings(npuAddress, Duration.ofMillis(deadlineMs), Duration.ofMillis(400), Duration.ofMillis(200),
        Duration.ofMillis(perRequestMs), Duration.ofMillis(totalMs), List.of("npu"));
  }

  /** An agent whose reboot is quick: a 100 ms shutdown step, a 200 ms simulated restart. */
  static AgentServer.Running agent(ActorSystem<?> system, String id, RebootNoticeSettings caps, long shutdownMs) throws Exception {
    AgentSettings s = AgentSettings.create(AppConfig.load()).withId(id).withPort(0)
        .withSteps(List.of(StepSpec.simulated("work", Duration.ofMillis(shutdownMs))))
        .withSimulatedRebootTime(Duration.ofMillis(200)).withNotice(caps);
    return AgentServer.start(system, s).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  static DpuAgentControlClient control(ActorSystem<?> system, AgentServer.Running agent) {
    return DpuAgentControlClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", agent.port(), system)
        .withTls(false).withDeadline(Duration.ofSeconds(10)), system);
  }
}
