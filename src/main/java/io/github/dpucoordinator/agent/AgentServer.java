package io.github.dpucoordinator.agent;

import io.github.dpucoordinator.agent.api.AgentControlServiceImpl;
import io.github.dpucoordinator.agent.api.GnoiSystemServiceImpl;
import io.github.dpucoordinator.agent.api.RebootServiceImpl;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.notice.NpuContact;
import io.github.dpucoordinator.agent.notice.NpuNoticeClient;
import io.github.dpucoordinator.agent.notice.RebootNegotiator;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import com.typesafe.config.Config;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.common.HostPort;
import io.github.dpucoordinator.common.tls.ClientTls;
import io.github.dpucoordinator.common.tls.PeerAuth;
import io.github.dpucoordinator.common.tls.ServerTls;
import io.github.dpucoordinator.common.tls.TlsConfigException;
import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.StepRunner;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.offloader.OffloadedContainer;
import io.github.dpucoordinator.offloader.OffloaderDaemon;
import io.github.dpucoordinator.offloader.OffloaderSettings;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControl;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlPowerApiHandlerFactory;
import io.github.dpucoordinator.proto.gnoi.system.SystemHandlerFactory;
import io.github.dpucoordinator.proto.reboot.RebootService;
import io.github.dpucoordinator.proto.reboot.RebootServiceHandlerFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.slf4j.LoggerFactory;

/**
 * Starts one DPU agent: its supervised state-machine actor, the negotiator of its own reboots, and one
 * gRPC server for RebootService, gNOI System and DpuAgentControl.
 */
public final class AgentServer {
  private AgentServer() {}

  /** A running agent; {@code port} is the bound port (useful when asked for port 0). */
  /** {@code offloader}: the DPU offloader running in this JVM, or null. */
  public record Running(String dpuId, ActorRef<DpuAgent.Command> agent, ActorRef<RebootNegotiator.Command> negotiator,
      ServerBinding binding, OffloaderDaemon offloader) {
    public int port() {
      return binding.localAddress().getPort();
    }
  }

  /** The agent's key that runs the DPU offloader in its JVM. */
  /** The agent server's transport security. */
  public static final String TLS = "dpu-coordinator.agent.tls";
  public static final String OFFLOADER_ENABLED = "dpu-coordinator.agent.offloader.enabled";
  private static final String HALT_STOP = "offloader-halt-stop";

  public static CompletionStage<Running> start(ActorSystem<?> system, AgentSettings given) {
    return start(system, given, system.settings().config());
  }

  /** {@code config}: where {@link #OFFLOADER_ENABLED} and the offloader's settings are read (the system's, by default). */
  public static CompletionStage<Running> start(ActorSystem<?> system, AgentSettings given, com.typesafe.config.Config config) {
    AgentSettings settings = given;
    // checked before anything starts: a certificate that cannot work refuses the agent, naming its key
    Config tlsConfig = config.getConfig(TLS);
    ServerTls tls;
    ClientTls toNpu;
    try {
      tls = ServerTls.at(config, TLS);
      toNpu = ClientTls.at(config, NpuNoticeClient.NPU_TLS); // the way to the NPU too, read once, before it is needed
      if (toNpu.insecure()) {
        LoggerFactory.getLogger(AgentServer.class).warn("[dpu={}] the NPU is reached with {}", given.dpuId(), toNpu.describe());
      }
    } catch (TlsConfigException e) {
      return CompletableFuture.failedFuture(e);
    }
    Map<String, java.util.function.Function<Duration, CompletionStage<StepResult>>> builtins = new HashMap<>();
    OffloaderDaemon offloader = null;
    if (config.getBoolean(OFFLOADER_ENABLED)) {
      try {
        offloader = OffloaderDaemon.start(AppConfig.with(config, OffloaderSettings.KEY + ".dpu-id", given.dpuId()));
      } catch (Exception e) {
        return CompletableFuture.failedFuture(new IllegalStateException("the DPU offloader (" + OFFLOADER_ENABLED + "): " + e.getMessage(), e));
      }
      OffloaderDaemon daemon = offloader;
      system.getWhenTerminated().thenRun(daemon::close);
      OffloaderSettings o = daemon.settings();
      if (o.stopOnDpuHalt()) { // the last graceful-shutdown step: the DPU's offloaded containers stopped
        builtins.put(HALT_STOP, timeout -> daemon.haltStop(timeout).thenApply(replies -> new StepResult("stop-offloaded-containers",
            replies.stream().allMatch(OffloadedContainer.Reply::ok), replies.stream().map(OffloadedContainer.Reply::message)
                .collect(java.util.stream.Collectors.joining("; ")), 0)));
        List<StepSpec> steps = new ArrayList<>(settings.shutdownSteps());
        steps.add(StepSpec.command("stop-offloaded-containers", StepRunner.BUILTIN + HALT_STOP, o.haltStopTimeout()));
        settings = settings.withSteps(steps);
      }
    }
    ActorRef<DpuAgent.Command> agent = system.systemActorOf(
        Behaviors.supervise(DpuAgent.create(settings, Clock.systemUTC(), builtins)).onFailure(SupervisorStrategy.restart()),
        "dpu-agent-" + settings.dpuId(), Props.empty());
    if (offloader != null) {
      system.systemActorOf(OffloaderLink.create(agent, offloader), "offloader-link-" + settings.dpuId(), Props.empty());
    }
    ActorRef<RebootNegotiator.Command> negotiator = system.systemActorOf(
        Behaviors.supervise(RebootNegotiator.create(settings, agent, Clock.systemUTC(), toNpu)).onFailure(SupervisorStrategy.restart()),
        "dpu-reboot-negotiator-" + settings.dpuId(), Props.empty());
    NpuContact contact = new NpuContact(Clock.systemUTC());
    RebootServiceImpl impl = new RebootServiceImpl(agent, system, contact);
    GnoiSystemServiceImpl gnoi = new GnoiSystemServiceImpl(agent, system, Clock.systemUTC(), contact);
    // a self-asserted identity only where nobody but this machine can assert it, and only when allowed
    boolean headerHonoured = tls.plain() && HostPort.isLoopback(settings.host()) && tlsConfig.getBoolean("allow-identity-header");
    AgentControlServiceImpl control = new AgentControlServiceImpl(settings.dpuId(), agent, negotiator, system, contact, headerHonoured,
        settings.notice()::allowedToPostpone);
    List<GrpcServers.Service> services = List.of(
        new GrpcServers.Service(RebootService.description, RebootServiceHandlerFactory.partial(impl, RebootService.name, org.apache.pekko.stream.SystemMaterializer.get(system).materializer(), io.github.dpucoordinator.common.GrpcErrors.handler(), system)),
        new GrpcServers.Service(io.github.dpucoordinator.proto.gnoi.system.System.description,
            SystemHandlerFactory.partial(gnoi, io.github.dpucoordinator.proto.gnoi.system.System.name, org.apache.pekko.stream.SystemMaterializer.get(system).materializer(), io.github.dpucoordinator.common.GrpcErrors.handler(), system)),
        new GrpcServers.Service(DpuAgentControl.description,
            DpuAgentControlPowerApiHandlerFactory.partial(control, DpuAgentControl.name, org.apache.pekko.stream.SystemMaterializer.get(system).materializer(), io.github.dpucoordinator.common.GrpcErrors.handler(), system)));
    String dpuId = settings.dpuId();
    OffloaderDaemon running = offloader;
    PeerAuth.Policy allowed = PeerAuth.Policy.allowList(AppConfig.names(tlsConfig, "allowed-clients"), TLS + ".allowed-clients");
    io.github.dpucoordinator.common.Metrics.serve(system, io.github.dpucoordinator.common.Metrics.Endpoint.at(system.settings().config(),
        "dpu-coordinator.agent.metrics"), "DPU agent " + dpuId);
    return GrpcServers.bind(system, settings.host(), settings.port(), services, tls, allowed, "the DPU agent " + dpuId)
        .thenApply(binding -> {
          LoggerFactory.getLogger(AgentServer.class).info("[dpu={}] serving reboot.RebootService, gnoi.system.System and DpuAgentControl on {}, {}{}",
              dpuId, binding.localAddress(), tls.describe(), headerHonoured ? "; the dpu-coordinator-identity header is honoured (unauthenticated)" : "");
          return new Running(dpuId, agent, negotiator, binding, running);
        });
  }
}
