package io.github.dpucoordinator.npu;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.proto.admin.CancelCampaignRequest;
import io.github.dpucoordinator.proto.admin.ModuleRequest;
import io.github.dpucoordinator.proto.admin.PlanRequest;
import io.github.dpucoordinator.proto.admin.ModuleResponse;
import io.github.dpucoordinator.proto.admin.NpuAdmin;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import io.github.dpucoordinator.proto.admin.StatusResponse;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** The local admin API: start a campaign, read the status document. */
public final class AdminServiceImpl implements NpuAdmin {
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);
  private final ActorRef<Coordinator.Command> coordinator;
  private final ActorSystem<?> system;
  private final ObjectMapper json = Json.mapper();

  public AdminServiceImpl(ActorRef<Coordinator.Command> coordinator, ActorSystem<?> system) {
    this.coordinator = coordinator;
    this.system = system;
  }

  @Override
  public CompletionStage<StartCampaignResponse> startCampaign(StartCampaignRequest in) {
    CompletionStage<Coordinator.StartReply> reply = AskPattern.ask(coordinator,
        replyTo -> new Coordinator.StartCampaign(in.getReason(), in.getKind(), replyTo), ASK_TIMEOUT, system.scheduler());
    return reply.thenApply(r -> StartCampaignResponse.newBuilder()
        .setAccepted(r.accepted()).setCampaignId(r.campaignId()).setMessage(r.message()).build());
  }

  @Override
  public CompletionStage<StartCampaignResponse> cancelCampaign(CancelCampaignRequest in) {
    CompletionStage<Coordinator.StartReply> reply = AskPattern.ask(coordinator,
        replyTo -> new Coordinator.CancelCampaign(in.getReason(), replyTo), ASK_TIMEOUT, system.scheduler());
    return reply.thenApply(r -> StartCampaignResponse.newBuilder()
        .setAccepted(r.accepted()).setCampaignId(r.campaignId()).setMessage(r.message()).build());
  }

  @Override
  public CompletionStage<StatusResponse> plan(PlanRequest in) {
    CompletionStage<PlanView> plan = AskPattern.ask(coordinator, Coordinator.GetPlan::new, ASK_TIMEOUT, system.scheduler());
    return plan.thenApply(p -> StatusResponse.newBuilder().setJson(Json.write(json, p)).build());
  }

  @Override
  public CompletionStage<ModuleResponse> moduleShutdown(ModuleRequest in) {
    return module(in, CoordinatorState.SHUTDOWN);
  }

  @Override
  public CompletionStage<ModuleResponse> moduleStartup(ModuleRequest in) {
    return module(in, CoordinatorState.STARTUP);
  }

  private CompletionStage<ModuleResponse> module(ModuleRequest in, String kind) {
    CompletionStage<Coordinator.StartReply> reply = AskPattern.ask(coordinator,
        replyTo -> new Coordinator.ModuleCommand(in.getDpuId(), kind, in.getReason(), replyTo), ASK_TIMEOUT, system.scheduler());
    return reply.thenApply(r -> ModuleResponse.newBuilder()
        .setAccepted(r.accepted()).setTransitionId(r.campaignId()).setMessage(r.message()).build());
  }

  @Override
  public CompletionStage<StatusResponse> status(StatusRequest in) {
    CompletionStage<StatusView> view = AskPattern.ask(coordinator, Coordinator.GetStatus::new, ASK_TIMEOUT, system.scheduler());
    return view.thenApply(v -> StatusResponse.newBuilder().setJson(Json.write(json, v)).build());
  }
}
