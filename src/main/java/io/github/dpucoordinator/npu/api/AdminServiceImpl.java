package io.github.dpucoordinator.npu.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.dpucoordinator.common.Asks;
import io.github.dpucoordinator.common.Failures;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.npu.chassis.Chassis;
import io.github.dpucoordinator.npu.coordinator.PlanView;
import io.github.dpucoordinator.npu.coordinator.StatusView;
import io.github.dpucoordinator.npu.dpu.DpuActor;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.DpuTransport;
import io.github.dpucoordinator.proto.admin.CancelCampaignRequest;
import io.github.dpucoordinator.proto.admin.ModuleRequest;
import io.github.dpucoordinator.proto.admin.ModuleResponse;
import io.github.dpucoordinator.proto.admin.NpuAdmin;
import io.github.dpucoordinator.proto.admin.PlanRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import io.github.dpucoordinator.proto.admin.StatusResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.List;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.dpucoordinator.npu.containerz.ContainerRuntime;
import io.github.dpucoordinator.npu.containerz.ContainerSpec;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;


/** The local admin API: start a campaign, read the status document. */
public final class AdminServiceImpl implements NpuAdmin {
  private final ActorRef<NpuProtocol.Command> coordinator;
  private final ActorSystem<?> system;
  private final ObjectMapper json = Json.mapper();

  private final NpuSettings settings;
  private final Asks.Bound asks;
  private final ContainerRuntime containers;
  private final java.util.function.Supplier<List<io.github.dpucoordinator.common.tls.TlsReport>> tls;

  /** {@code containers}: the Containerz runtime whose containers the status shows by DPU (null: none). */
  public AdminServiceImpl(ActorRef<NpuProtocol.Command> coordinator, ActorSystem<?> system, NpuSettings settings, ContainerRuntime containers) {
    this(coordinator, system, settings, containers, List::of);
  }

  /** {@code tls}: the transport security of the APIs and of the way to each DPU, as status shows it. */
  public AdminServiceImpl(ActorRef<NpuProtocol.Command> coordinator, ActorSystem<?> system, NpuSettings settings, ContainerRuntime containers,
      java.util.function.Supplier<List<io.github.dpucoordinator.common.tls.TlsReport>> tls) {
    this.tls = tls;
    this.containers = containers;
    this.coordinator = coordinator;
    this.system = system;
    this.settings = settings;
    this.asks = new Asks.Bound(system, settings.admin().askTimeout(), NpuSettings.Admin.ASK_TIMEOUT);
  }

  /** Asks the coordinator, within {@code admin.ask-timeout}. */
  private <R> CompletionStage<R> ask(org.apache.pekko.japi.function.Function<ActorRef<R>, NpuProtocol.Command> message) {
    return asks.ask(coordinator, message);
  }

  @Override
  public CompletionStage<StartCampaignResponse> startCampaign(StartCampaignRequest in) {
    CampaignKind kind = CampaignKind.parse(in.getKind());
    if (kind == null) {
      return CompletableFuture.completedFuture(StartCampaignResponse.newBuilder().setAccepted(false)
          .setMessage(CampaignKind.unknown(in.getKind())).build());
    }
    CompletionStage<NpuProtocol.StartReply> reply =
        ask(replyTo -> new NpuProtocol.StartCampaign(in.getReason(), kind, in.getForce(), replyTo));
    return reply.thenApply(r -> StartCampaignResponse.newBuilder()
        .setAccepted(r.accepted()).setCampaignId(r.campaignId()).setMessage(r.message()).build());
  }

  @Override
  public CompletionStage<StartCampaignResponse> cancelCampaign(CancelCampaignRequest in) {
    CompletionStage<NpuProtocol.StartReply> reply = ask(replyTo -> new NpuProtocol.CancelCampaign(in.getReason(), replyTo));
    return reply.thenApply(r -> StartCampaignResponse.newBuilder()
        .setAccepted(r.accepted()).setCampaignId(r.campaignId()).setMessage(r.message()).build());
  }

  @Override
  public CompletionStage<StatusResponse> plan(PlanRequest in) {
    CompletionStage<PlanView> plan = ask(r -> new Chassis.GetPlan(in.getForce(), r));
    return plan.thenCompose(p -> askDpus(p).thenApply(more -> p.withBlockers(more)))
        .thenApply(p -> StatusResponse.newBuilder().setJson(Json.write(json, p)).build());
  }

  /** Each planned DPU asked once, read-only: protective states and deferrals it reports now, or that it cannot be reached. */
  private CompletionStage<java.util.List<String>> askDpus(PlanView p) {
    java.util.List<java.util.concurrent.CompletableFuture<String>> asks = new java.util.ArrayList<>();
    for (DpuEndpoint d : settings.dpus()) {
      if (p.dpus().stream().noneMatch(planned -> planned.id().equals(d.id()))) {
        continue;
      }
      CompletionStage<DpuActor.Answer> answer = ask(r -> new NpuProtocol.AskDpu(d.id(), r, settings.signal().rpcTimeout()));
      asks.add(answer.toCompletableFuture().handle((a, failed) -> {
        Throwable failure = failed != null ? failed : a.failure();
        DpuTransport.Observation o = failure == null ? a.observation() : null;
        return failure != null ? d.id() + " is unreachable now (" + Failures.describe(failure) + ")"
              : o.isProtective() ? d.id() + " reports protective state " + o.protective() + "; it will not be powered off or reset"
                  + " while it lasts (up to protective.max-wait " + settings.negotiation().protectiveMaxWait().toSeconds() + " s)"
              : !o.deferring().isEmpty() ? d.id() + " is " + o.deferring() + " (honoured up to defer.max-total "
                  + settings.negotiation().deferMaxTotal().toSeconds() + " s; --force skips it)"
              : null;
      }));
    }
    return java.util.concurrent.CompletableFuture.allOf(asks.toArray(new java.util.concurrent.CompletableFuture[0]))
        .thenApply(x -> asks.stream().map(java.util.concurrent.CompletableFuture::join).filter(java.util.Objects::nonNull).toList());
  }

  @Override
  public CompletionStage<ModuleResponse> moduleShutdown(ModuleRequest in) {
    return module(in, ModuleKind.SHUTDOWN);
  }

  @Override
  public CompletionStage<ModuleResponse> moduleStartup(ModuleRequest in) {
    return module(in, ModuleKind.STARTUP);
  }

  private CompletionStage<ModuleResponse> module(ModuleRequest in, ModuleKind kind) {
    CompletionStage<NpuProtocol.StartReply> reply =
        ask(replyTo -> new NpuProtocol.ModuleCommand(in.getDpuId(), kind, in.getReason(), in.getForce(), replyTo));
    return reply.thenApply(r -> ModuleResponse.newBuilder()
        .setAccepted(r.accepted()).setTransitionId(r.campaignId()).setMessage(r.message()).build());
  }

  @Override
  public CompletionStage<StatusResponse> status(StatusRequest in) {
    CompletionStage<StatusView> view = ask(Chassis.GetStatus::new);
    CompletionStage<List<ContainerRuntime.Container>> offloaded = containers == null ? CompletableFuture.completedFuture(List.of())
        : containers.list().exceptionally(unreadable -> List.of());
    return view.thenCombine(offloaded, (v, running) -> StatusResponse.newBuilder().setJson(withContainers(v, running)).build());
  }

  /** The status document with, for each module, the containers the NPU runs for that DPU (label {@code dpu}). */
  private String withContainers(StatusView v, List<ContainerRuntime.Container> all) {
    ObjectNode doc = json.valueToTree(v);
    for (JsonNode m : doc.path("modules")) {
      ArrayNode list = ((ObjectNode) m).putArray("containers");
      all.stream().filter(c -> m.path("id").asText().equals(c.labels().get(ContainerSpec.DPU_LABEL)))
          .forEach(c -> list.addObject().put("name", c.name()).put("image", c.image().toString()).put("status", c.running() ? "RUNNING" : "STOPPED"));
    }
    doc.set("tls", json.valueToTree(tls.get()));
    return Json.write(json, doc);
  }
}
