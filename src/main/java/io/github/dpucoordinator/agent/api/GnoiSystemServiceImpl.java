package io.github.dpucoordinator.agent.api;

import io.github.dpucoordinator.agent.machine.AgentSnapshot;
import io.github.dpucoordinator.agent.machine.AgentMetrics;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.agent.notice.NpuContact;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.Asks;
import io.github.dpucoordinator.common.ProtectiveTrailers;
import io.github.dpucoordinator.proto.gnoi.system.CancelRebootRequest;
import io.github.dpucoordinator.proto.gnoi.system.CancelRebootResponse;
import io.github.dpucoordinator.proto.gnoi.system.RebootMethod;
import io.github.dpucoordinator.proto.gnoi.system.RebootRequest;
import io.github.dpucoordinator.proto.gnoi.system.RebootResponse;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatus;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatusRequest;
import io.github.dpucoordinator.proto.gnoi.system.RebootStatusResponse;
import io.github.dpucoordinator.proto.gnoi.system.TimeRequest;
import io.github.dpucoordinator.proto.gnoi.system.TimeResponse;
import io.grpc.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;

/**
 * gNOI {@code gnoi.system.System} on the DPU agent, answering as GNOI.md says a SONiC DPU does where
 * the spec leaves room: HALT, COLD and WARM are served (others are INVALID_ARGUMENT), a Reboot while
 * one is active or scheduled is INVALID_ARGUMENT "reboot in progress", an idle RebootStatus is the
 * empty message. Unlike SONiC it also schedules a {@code delay} > 0 and cancels it with CancelReboot.
 *
 * <p>A Reboot while a protective state holds (a firmware update, a crash dump) is UNAVAILABLE
 * "protective state NAME: REASON" (and the same in trailers, {@link ProtectiveTrailers}) and starts nothing. gNOI has no deferral: {@code dpu-hold defer}
 * only defers the NPU's RebootService signals, so a deferring DPU still answers gNOI Reboot.
 */
public final class GnoiSystemServiceImpl implements io.github.dpucoordinator.proto.gnoi.system.System {
  private static final long NANOS_PER_MILLI = 1_000_000L;

  private final ActorRef<DpuAgent.Command> agent;
  private final ActorSystem<?> system;
  private final Asks.Bound asks;
  private final Clock clock;

  private final NpuContact contact;

  public GnoiSystemServiceImpl(ActorRef<DpuAgent.Command> agent, ActorSystem<?> system, Clock clock) {
    this(agent, system, clock, new NpuContact(clock));
  }

  public GnoiSystemServiceImpl(ActorRef<DpuAgent.Command> agent, ActorSystem<?> system, Clock clock, NpuContact contact) {
    this.agent = agent;
    this.system = system;
    this.asks = new Asks.Bound(system, system.settings().config().getDuration(AgentSettings.ASK_TIMEOUT), AgentSettings.ASK_TIMEOUT);
    this.clock = clock;
    this.contact = contact;
  }

  @Override
  public CompletionStage<RebootResponse> reboot(RebootRequest in) {
    contact.seen("gnoi");
    DpuAgent.Method method = switch (in.getMethod()) {
      case HALT -> DpuAgent.Method.HALT;
      case COLD -> DpuAgent.Method.COLD;
      case WARM -> DpuAgent.Method.WARM;
      default -> null;
    };
    if (method == null) {
      return failed(Status.INVALID_ARGUMENT.withDescription("reboot method " + in.getMethod() + " is not supported; use HALT, COLD or WARM"));
    }
    if (in.getSubcomponentsCount() > 0) {
      return failed(Status.INVALID_ARGUMENT.withDescription("rebooting subcomponents is not supported; omit subcomponents to reboot the DPU"));
    }
    if (in.getDelay() < 0) {
      return failed(Status.INVALID_ARGUMENT.withDescription("delay is out of range"));
    }
    Duration delay = Duration.ofNanos(in.getDelay());
    CompletionStage<DpuAgent.SignalOutcome> outcome = asks.ask(agent,
        // our NPU names its campaign (a field other gNOI clients do not send): a repeated Reboot is then not run twice
        replyTo -> new DpuAgent.Signal(in.getDpuCoordinatorCampaignId(), method, DpuAgent.Signal.GNOI, in.getMessage(), 0, delay, replyTo));
    return outcome.thenCompose(o -> switch (o.disposition()) {
      case IN_PROGRESS -> failed(Status.INVALID_ARGUMENT.withDescription("reboot in progress"));
      case REFUSED -> failed(Status.UNAVAILABLE.withDescription(o.detail()), ProtectiveTrailers.of(o.protective(), o.protectiveReason()));
      default -> CompletableFuture.completedFuture(RebootResponse.getDefaultInstance());
    });
  }

  @Override
  public CompletionStage<RebootStatusResponse> rebootStatus(RebootStatusRequest in) {
    contact.seen("gnoi");
    if (in.getSubcomponentsCount() > 0) {
      return failed(Status.INVALID_ARGUMENT.withDescription("subcomponent status is not supported; omit subcomponents"));
    }
    CompletionStage<AgentSnapshot> snapshot = asks.ask(agent,
        replyTo -> new DpuAgent.GetState(-1, Duration.ZERO, replyTo));
    return snapshot.thenApply(s -> {
      AgentMetrics.rebootStatus(s.dpuId());
      return status(s);
    });
  }

  RebootStatusResponse status(AgentSnapshot s) {
    AgentSnapshot.Reboot r = s.reboot();
    if (r.method() == null) {
      // Nothing since the last (re)start: every field at its default, except how many reboots this agent performed.
      return RebootStatusResponse.newBuilder().setCount((int) s.shutdownRuns()).setDpuCoordinatorBootId(s.bootId()).build();
    }
    long now = clock.millis();
    RebootStatusResponse.Builder b = RebootStatusResponse.newBuilder()
        .setActive(r.active())
        .setReason(r.reason())
        .setCount((int) s.shutdownRuns())
        .setDpuCoordinatorBootId(s.bootId())
        .setMethod(switch (r.method()) {
          case COLD -> RebootMethod.COLD;
          case WARM -> RebootMethod.WARM;
          default -> RebootMethod.HALT;
        });
    if (r.scheduledAtMillis() > 0) {
      b.setWhen(r.scheduledAtMillis() * NANOS_PER_MILLI).setWait(Math.max(0, r.scheduledAtMillis() - now) * NANOS_PER_MILLI);
    } else {
      b.setWhen(r.startedAtMillis() * NANOS_PER_MILLI);
    }
    if (r.finished() && !r.failure().isEmpty()) {
      b.setStatus(RebootStatus.newBuilder().setStatus(RebootStatus.Status.STATUS_FAILURE).setMessage(r.failure()));
    } else if (r.finished()) {
      List<String> failed = s.steps().stream().filter(st -> !st.ok())
          .map(st -> st.name() + (st.detail().isEmpty() ? "" : " (" + st.detail() + ")")).toList();
      // the message for people and other NPUs; the field for ours
      b.setStatus(RebootStatus.newBuilder().setStatus(RebootStatus.Status.STATUS_SUCCESS)
          .setMessage(failed.isEmpty() ? "Halt reboot completed" : "Halt reboot completed; failed steps: " + String.join(", ", failed)))
          .addAllDpuCoordinatorFailedSteps(failed);
    }
    return b.build();
  }

  @Override
  public CompletionStage<CancelRebootResponse> cancelReboot(CancelRebootRequest in) {
    CompletionStage<DpuAgent.CancelOutcome> outcome = asks.ask(agent, DpuAgent.Cancel::new);
    return outcome.thenCompose(o -> o == DpuAgent.CancelOutcome.ALREADY_RUNNING
        ? failed(Status.FAILED_PRECONDITION.withDescription("the reboot is already running and cannot be cancelled"))
        : CompletableFuture.completedFuture(CancelRebootResponse.getDefaultInstance()));
  }

  @Override
  public CompletionStage<TimeResponse> time(TimeRequest in) {
    Instant now = clock.instant();
    return CompletableFuture.completedFuture(
        TimeResponse.newBuilder().setTime(now.getEpochSecond() * 1_000_000_000L + now.getNano()).build());
  }

  private static <T> CompletionStage<T> failed(Status status) {
    return CompletableFuture.failedFuture(new GrpcServiceException(status));
  }

  private static <T> CompletionStage<T> failed(Status status, org.apache.pekko.grpc.javadsl.Metadata trailers) {
    return CompletableFuture.failedFuture(new GrpcServiceException(status, trailers));
  }
}
