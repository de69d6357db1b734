package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.common.HostPort;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.proto.admin.CancelCampaignRequest;
import io.github.dpucoordinator.proto.admin.ModuleRequest;
import io.github.dpucoordinator.proto.admin.PlanRequest;
import io.github.dpucoordinator.proto.admin.ModuleResponse;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import io.github.dpucoordinator.common.tls.ClientTls;
import org.apache.pekko.grpc.GrpcClientSettings;

/** The CLI's connection to the NPU service's admin API. */
final class AdminClient implements AutoCloseable {

  /** The admin API could not be reached or did not answer; the message says where and why. */
  static class Unreachable extends Exception {
    Unreachable(String message) {
      super(message);
    }
  }

  /** The admin API answered, refusing this caller (no or a wrong client certificate, or a viewer acting): exit 3. */
  static final class Denied extends Unreachable {
    Denied(String message) {
      super(message);
    }
  }

  private final ActorSystem<Void> system;
  private final NpuAdminClient client;
  private final String address;
  private final Duration timeout;

  AdminClient(String address, Config config) {
    this.address = address;
    this.timeout = config.getDuration("dpu-coordinator.cli.call-timeout");
    HostPort target = HostPort.parse(address, "the admin address (--admin or dpu-coordinator.cli.admin-address)");
    String host = target.host();
    int port = target.port();
    ClientTls tls = ClientTls.at(config, TlsOptions.KEY);
    Config quiet = Systems.clientConfig(config);
    this.system = Systems.create("dpuctl", quiet);
    this.client = NpuAdminClient.create(tls.apply(GrpcClientSettings.connectToServiceAt(host, port, system)
        .withDeadline(timeout).withConnectionAttempts(2), host), system);
  }

  StartCampaignResponse start(String reason, String kind, boolean force) throws Unreachable {
    return call(() -> client.startCampaign(StartCampaignRequest.newBuilder().setReason(reason).setKind(kind).setForce(force).build())
        .toCompletableFuture().get());
  }

  ModuleResponse module(String kind, String dpuId, String reason, boolean force) throws Unreachable {
    ModuleRequest request = ModuleRequest.newBuilder().setDpuId(dpuId).setReason(reason).setForce(force).build();
    return call(() -> (kind.equals("shutdown") ? client.moduleShutdown(request) : client.moduleStartup(request)).toCompletableFuture().get());
  }

  StartCampaignResponse cancel(String reason) throws Unreachable {
    return call(() -> client.cancelCampaign(CancelCampaignRequest.newBuilder().setReason(reason).build()).toCompletableFuture().get());
  }

  JsonNode plan(boolean force) throws Unreachable {
    return Json.read(call(() -> client.plan(PlanRequest.newBuilder().setForce(force).build()).toCompletableFuture().get()).getJson());
  }

  JsonNode status() throws Unreachable {
    return Json.read(call(() -> client.status(StatusRequest.getDefaultInstance()).toCompletableFuture().get()).getJson());
  }

  private interface Call<T> {
    T run() throws Exception;
  }

  /** What a command does with a connected client; returns the exit code. */
  interface Body {
    int run(AdminClient client, Config config) throws Unreachable;
  }

  /**
   * Runs a command against the admin API at {@code address} (or the configured one), mapping an
   * unreachable service to exit 4 and a malformed address to exit 2, with the command's name.
   */
  static int run(String command, String address, Body body) {
    return run(command, address, new TlsOptions(), body);
  }

  /** As {@link #run(String, String, Body)}, over the transport security {@code tls} and dpu-coordinator.cli.tls say. */
  static int run(String command, String address, TlsOptions tls, Body body) {
    Config config = tls.apply(io.github.dpucoordinator.common.AppConfig.load());
    String target = address != null ? address : config.getString("dpu-coordinator.cli.admin-address");
    try (AdminClient client = new AdminClient(target, config)) {
      return body.run(client, config);
    } catch (Denied e) {
      System.err.println("dpuctl " + command + ": " + e.getMessage());
      return ExitCodes.REFUSED;
    } catch (Unreachable e) {
      System.err.println("dpuctl " + command + ": " + e.getMessage());
      return ExitCodes.UNREACHABLE;
    } catch (IllegalArgumentException e) {
      System.err.println("dpuctl " + command + ": " + e.getMessage());
      return ExitCodes.USAGE;
    }
  }

  private <T> T call(Call<T> call) throws Unreachable {
    try {
      return call.run();
    } catch (Exception e) {
      io.grpc.Status status = CallFailures.status(e).map(io.grpc.StatusRuntimeException::getStatus).orElse(io.grpc.Status.UNKNOWN);
      if (status.getCode() == io.grpc.Status.Code.PERMISSION_DENIED || status.getCode() == io.grpc.Status.Code.UNAUTHENTICATED) {
        throw new Denied("the admin API at " + address + " refused: " + status.getCode() + ": " + status.getDescription()
            + (status.getCode() == io.grpc.Status.Code.UNAUTHENTICATED ? " (give your certificate: --tls-cert, --tls-key)" : ""));
      }
      throw new Unreachable("cannot reach the NPU service's admin API at " + address + ": " + Systems.rootMessage(e)
          + " (is `dpuctl npu` running there?)");
    }
  }

  @Override
  public void close() {
    client.close();
    system.terminate();
  }
}
