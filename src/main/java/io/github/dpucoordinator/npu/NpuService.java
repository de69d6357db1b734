package io.github.dpucoordinator.npu;

import io.github.dpucoordinator.common.Delays;
import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.common.Metrics;
import io.github.dpucoordinator.npu.journal.JournalHealth;
import io.github.dpucoordinator.npu.metrics.NpuMetrics;
import io.github.dpucoordinator.common.JournalSchema;
import io.github.dpucoordinator.common.StepRunner;
import io.github.dpucoordinator.npu.api.AdminServiceImpl;
import io.github.dpucoordinator.npu.api.DpuNoticeServiceImpl;
import io.github.dpucoordinator.npu.chassis.Chassis;
import io.github.dpucoordinator.npu.containerz.ContainerzServer;
import io.github.dpucoordinator.npu.containerz.ContainerzSettings;
import io.github.dpucoordinator.npu.dpu.DpuActor;
import io.github.dpucoordinator.npu.gateway.PipeGateway;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTls;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import io.github.dpucoordinator.npu.transport.GnoiDpuTransport;
import io.github.dpucoordinator.npu.transport.ProtocolTransport;
import io.github.dpucoordinator.npu.transport.RebootServiceTransport;
import io.github.dpucoordinator.proto.admin.NpuAdmin;
import io.github.dpucoordinator.proto.admin.NpuAdminHandlerFactory;
import io.github.dpucoordinator.proto.notice.DpuRebootNotices;
import io.github.dpucoordinator.proto.notice.DpuRebootNoticesPowerApiHandlerFactory;
import io.github.dpucoordinator.npu.api.ApiAccess;
import io.github.dpucoordinator.common.tls.TlsReport;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the NPU service in an actor system whose config points the journal at the data dir
 * (see {@code AppConfig}): the journal schema, the coordinator (which recovers and resumes any
 * campaign in flight) and the admin gRPC API.
 */
public final class NpuService {
  private static final Logger log = LoggerFactory.getLogger(NpuService.class);

  private NpuService() {}

  /** {@code probed} completes when every DPU has answered the start-up probe or failed to. */
  public record Running(ActorRef<NpuProtocol.Command> coordinator, ServerBinding admin, CompletionStage<Void> probed,
      ServerBinding dpuApi) {
    public int adminPort() {
      return admin.localAddress().getPort();
    }

    /** The port DPUs announce their own reboots on. */
    public int dpuApiPort() {
      return dpuApi.localAddress().getPort();
    }
  }

  private static final int PROBE_TRIES = 3;

  /**
   * Asks every configured DPU for its state, in the background and through its DPU actor (the only thing that talks
   * to it): the log says up front who is reachable, and the connections are open before the first campaign needs
   * them. A DPU (or this JVM) that is slow to answer while starting is asked again, up to {@value #PROBE_TRIES}
   * times, before it is reported as not answering.
   */
  private static CompletionStage<Void> probe(NpuSettings settings, ActorRef<NpuProtocol.Command> coordinator, ActorSystem<?> system) {
    List<CompletableFuture<?>> probes = new java.util.ArrayList<>();
    for (DpuEndpoint d : settings.dpus()) {
      probes.add(probe(d, coordinator, system, settings.signal().rpcTimeout(), 1).toCompletableFuture());
    }
    return CompletableFuture.allOf(probes.toArray(new CompletableFuture[0])).handle((ok, failure) -> null);
  }

  private static CompletionStage<Void> probe(DpuEndpoint d, ActorRef<NpuProtocol.Command> coordinator, ActorSystem<?> system,
      Duration timeout, int attempt) {
    // the coordinator answers once it has recovered its journal: that wait is not the DPU's
    Duration askTimeout = timeout.plus(Duration.ofSeconds(30));
    CompletionStage<DpuActor.Answer> asked = AskPattern.ask(coordinator, r -> new NpuProtocol.AskDpu(d.id(), r, timeout), askTimeout,
        system.scheduler());
    return asked.handle((answer, askFailure) -> {
      Throwable failure = askFailure != null ? askFailure : answer.failure();
      if (failure == null) {
        log.info("[dpu={}] reachable at {}:{} over {}, state {}", d.id(), d.host(), d.port(), d.protocol(), answer.observation().state());
        return CompletableFuture.<Void>completedFuture(null);
      }
      if (attempt < PROBE_TRIES) {
        log.debug("[dpu={}] start-up probe {} of {}: {}; asking again", d.id(), attempt, PROBE_TRIES, Failures.describe(failure));
        // a pause first: an agent that refused the connection may be a moment from listening
        return Delays.of(system).after(Duration.ofSeconds(attempt))
            .thenCompose(x -> probe(d, coordinator, system, timeout.multipliedBy(2), attempt + 1));
      }
      log.warn("[dpu={}] not answering at {}:{} over {} after {} tries: {} (campaigns will keep trying it)", d.id(), d.host(),
          d.port(), d.protocol(), PROBE_TRIES, Failures.describe(failure));
      return CompletableFuture.<Void>completedFuture(null);
    }).thenCompose(x -> x);
  }

  public static CompletionStage<Running> start(ActorSystem<?> system, NpuSettings settings) {
    return start(system, settings, transport(system, settings), hostActions(system, settings));
  }

  /**
   * The transports to the DPUs, one per protocol, every call bounded on the wire by twice the longest
   * expected call.
   */
  public static DpuTransport transport(ActorSystem<?> system, NpuSettings settings) {
    Duration deadline = settings.stateWait().plus(settings.signal().rpcTimeout()).multipliedBy(2);
    DpuTls tls = DpuTls.from(system.settings().config());
    settings.dpus().forEach(d -> {
      if (tls.of(d.id()).insecure()) {
        log.warn("[dpu={}] reached with {}", d.id(), tls.of(d.id()).describe());
      }
    });
    return new ProtocolTransport(Map.of(
        DpuEndpoint.REBOOT_SERVICE, new RebootServiceTransport(system, deadline, Clock.systemUTC(), tls),
        DpuEndpoint.GNOI, new GnoiDpuTransport(system, deadline, settings.gnoi().method(), tls)), tls);
  }

  /** The configured pre-reboot tasks and reboot command (a dry run when none is configured). */
  public static HostActions hostActions(ActorSystem<?> system, NpuSettings settings) {
    return HostActions.fromSettings(settings, new StepRunner(system.dispatchers().lookup(DispatcherSelector.blocking())), Delays.of(system));
  }

  public static CompletionStage<Running> start(ActorSystem<?> system, NpuSettings settings, DpuTransport transport, HostActions host) {
    CompletableFuture<Running> started = new CompletableFuture<>();
    return JournalSchema.prepare(system.settings().config(), system.dispatchers().lookup(DispatcherSelector.blocking()))
        .thenCompose(done -> {
          system.systemActorOf(Behaviors.<Void>setup(ctx -> serve(ctx, settings, transport, host, started)), "npu", Props.empty());
          return started;
        });
  }

  private static final Duration JOURNAL_CHECK_MAX = Duration.ofSeconds(50); // within the 60 s dpuctl npu waits for the start

  /**
   * The NPU service as the guardian of its own actor system (what `dpuctl npu` runs): it builds the transports and
   * host actions, spawns the coordinator as its child and binds the APIs; {@code started} completes once they are up,
   * or fails. The journal's tables must exist first ({@link JournalSchema}): {@code journalReady} completes once they do
   * (or fails with why they cannot).
   */
  public static Behavior<Void> guardian(NpuSettings settings, CompletableFuture<?> journalReady, CompletableFuture<Running> started) {
    return Behaviors.setup(ctx -> {
      try { // checked on a thread of its own while this actor system started: the wait is what is left of it
        journalReady.get(JOURNAL_CHECK_MAX.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        started.completeExceptionally(e.getCause());
        return Behaviors.empty();
      } catch (java.util.concurrent.TimeoutException | InterruptedException e) {
        started.completeExceptionally(new IllegalStateException("the journal's check did not finish within " + JOURNAL_CHECK_MAX.toSeconds() + " s"));
        return Behaviors.empty();
      }
      return serve(ctx, settings, transport(ctx.getSystem(), settings), hostActions(ctx.getSystem(), settings), started);
    });
  }

  /**
   * The service's root: the coordinator (which recovers and resumes any campaign in flight) as its child, the pipe
   * gateway, and the admin and DPU gRPC APIs, whose bindings CoordinatedShutdown unbinds (in-flight calls get 5 s).
   */
  private static Behavior<Void> serve(ActorContext<Void> ctx, NpuSettings settings, DpuTransport transport, HostActions host,
      CompletableFuture<Running> started) {
    try {
      return serveOrThrow(ctx, settings, transport, host, started);
    } catch (RuntimeException e) { // start-up fails now, with its reason, instead of timing out
      started.completeExceptionally(e);
      return Behaviors.empty();
    }
  }

  private static Behavior<Void> serveOrThrow(ActorContext<Void> ctx, NpuSettings settings, DpuTransport transport, HostActions host,
      CompletableFuture<Running> started) {
    ActorSystem<Void> system = ctx.getSystem();
    ApiAccess access = ApiAccess.from(system.settings().config(), settings); // before anything starts: refused naming the key
    // Supervised: a failure of the chassis itself restarts it (with its DPU actors and entities, which recover).
    ActorRef<NpuProtocol.Command> coordinator = ctx.spawn(Behaviors.supervise(Chassis.create(settings, transport, host, Clock.systemUTC()))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2)), "chassis");
    if (settings.gateway().enabled()) {
      try {
        PipeGateway gateway = PipeGateway.start(system, coordinator, settings, Clock.systemUTC());
        system.getWhenTerminated().thenRun(gateway::close);
      } catch (java.io.IOException e) {
        started.completeExceptionally(new IllegalStateException("pipe gateway: " + e.getMessage(), e));
        return Behaviors.empty();
      }
    }
    ContainerzSettings containerz = ContainerzSettings.of(system.settings().config(), settings.dataDir());
    ContainerzServer.Opened containers = null;
    if (containerz.enabled()) {
      try {
        containers = ContainerzServer.open(system, containerz, settings.dpus().stream().map(d -> d.id()).collect(java.util.stream.Collectors.toSet()),
            access.dpuOperators());
      } catch (java.io.IOException e) {
        started.completeExceptionally(new IllegalStateException("containerz under " + containerz.root() + ": " + e.getMessage(), e));
        return Behaviors.empty();
      }
    }
    java.util.function.Supplier<List<TlsReport>> tlsReport = () -> {
      List<TlsReport> all = new java.util.ArrayList<>(List.of(access.admin().report("admin API"), access.dpuApi().report("DPU API")));
      settings.dpus().stream().filter(d -> !transport.tls().of(d.id()).plain()).forEach(d -> all.add(transport.tls().of(d.id()).report("to " + d.id())));
      return all;
    };
    AdminServiceImpl admin = new AdminServiceImpl(coordinator, system, settings, containers == null ? null : containers.runtime(), tlsReport);
    List<GrpcServers.Service> services = List.of(new GrpcServers.Service(
        NpuAdmin.description, NpuAdminHandlerFactory.partial(admin, NpuAdmin.name, org.apache.pekko.stream.SystemMaterializer.get(system).materializer(), io.github.dpucoordinator.common.GrpcErrors.handler(), system)));
    CompletionStage<Void> probed = probe(settings, coordinator, system);
    JournalHealth.get(system).watch(NpuMetrics.get());
    Metrics.serve(system, Metrics.Endpoint.at(system.settings().config(), "dpu-coordinator.npu.metrics"), "NPU service");
    DpuNoticeServiceImpl notices = new DpuNoticeServiceImpl(coordinator, system, settings, access.dpuOperators());
    List<GrpcServers.Service> dpuServices = new java.util.ArrayList<>(List.of(new GrpcServers.Service(DpuRebootNotices.description,
        DpuRebootNoticesPowerApiHandlerFactory.partial(notices, DpuRebootNotices.name, org.apache.pekko.stream.SystemMaterializer.get(system).materializer(), io.github.dpucoordinator.common.GrpcErrors.handler(), system))));
    if (containers != null) {
      dpuServices.add(containers.service());
    }
    GrpcServers.bind(system, settings.adminHost(), settings.adminPort(), services, access.admin(), access.adminPolicy(), "the NPU admin API")
        .thenCompose(binding -> GrpcServers.bind(system, settings.negotiation().dpuApiHost(), settings.negotiation().dpuApiPort(), dpuServices,
            access.dpuApi(), access.dpuPolicy(), "the NPU's DPU API")
            .whenComplete((dpuApi, failure) -> {
              binding.addToCoordinatedShutdown(UNBIND_GRACE, system);
              if (failure != null) {
                binding.unbind(); // the service does not start: its admin port is free again at once
              }
            })
            .thenApply(dpuApi -> {
              dpuApi.addToCoordinatedShutdown(UNBIND_GRACE, system);
              log.info("NPU service: {} DPU(s), data dir {}, admin API on {} ({}), DPU API on {} ({}), reboot action: {}", settings.dpus().size(),
                  settings.dataDir().toAbsolutePath(), binding.localAddress(), access.admin().describe(), dpuApi.localAddress(),
                  access.dpuApi().describe(),
                  settings.dryRun() ? "dry run" : settings.reboot().command());
              return new Running(coordinator, binding, probed, dpuApi);
            }))
        .whenComplete((running, failure) -> {
          if (failure != null) {
            started.completeExceptionally(failure);
          } else {
            started.complete(running);
          }
        });
    return Behaviors.empty();
  }

  /** How long in-flight API calls may finish once CoordinatedShutdown unbinds the APIs. */
  private static final Duration UNBIND_GRACE = Duration.ofSeconds(5);
}
