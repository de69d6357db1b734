package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.github.dpucoordinator.common.HostPort;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.proto.admin.CancelCampaignRequest;
import io.github.dpucoordinator.proto.admin.ModuleRequest;
import io.github.dpucoordinator.proto.admin.PlanRequest;
import io.github.dpucoordinator.proto.admin.ModuleResponse;
import io.github.dpucoordinator.proto.admin.NpuAdmin;
import io.github.dpucoordinator.proto.admin.StatusResponse;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import io.github.dpucoordinator.proto.admin.StatusRequest;
import java.time.Duration;
import io.github.dpucoordinator.common.tls.ClientTls;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import java.util.concurrent.TimeUnit;

/**
 * The CLI's connection to the NPU service's admin API: one grpc-java channel, blocking unary calls, no actor system (a
 * command's whole run, or its answer that the service is not there, stays well under a second).
 */
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

  private static final MethodDescriptor<StartCampaignRequest, StartCampaignResponse> START =
      method("StartCampaign", StartCampaignRequest.getDefaultInstance(), StartCampaignResponse.getDefaultInstance());
  private static final MethodDescriptor<StatusRequest, StatusResponse> STATUS =
      method("Status", StatusRequest.getDefaultInstance(), StatusResponse.getDefaultInstance());
  private static final MethodDescriptor<CancelCampaignRequest, StartCampaignResponse> CANCEL =
      method("CancelCampaign", CancelCampaignRequest.getDefaultInstance(), StartCampaignResponse.getDefaultInstance());
  private static final MethodDescriptor<PlanRequest, StatusResponse> PLAN =
      method("Plan", PlanRequest.getDefaultInstance(), StatusResponse.getDefaultInstance());
  private static final MethodDescriptor<ModuleRequest, ModuleResponse> MODULE_SHUTDOWN =
      method("ModuleShutdown", ModuleRequest.getDefaultInstance(), ModuleResponse.getDefaultInstance());
  private static final MethodDescriptor<ModuleRequest, ModuleResponse> MODULE_STARTUP =
      method("ModuleStartup", ModuleRequest.getDefaultInstance(), ModuleResponse.getDefaultInstance());

  /** gRPC's own warnings (a name it cannot resolve, say): the command says what went wrong in its one line. */
  private static final java.util.logging.Logger GRPC_LOG = java.util.logging.Logger.getLogger("io.grpc");

  static {
    // gRPC's Netty would set up the service's logging (logback) just to say nothing: it logs through the JDK's here.
    io.grpc.netty.shaded.io.netty.util.internal.logging.InternalLoggerFactory.setDefaultFactory(
        io.grpc.netty.shaded.io.netty.util.internal.logging.JdkLoggerFactory.INSTANCE);
    GRPC_LOG.setLevel(java.util.logging.Level.OFF);
  }

  private final ManagedChannel channel;
  /**
   * The channel's own event loop, stopped on close: the JVM waits up to 300 ms at exit for a thread still in native code
   * (gRPC's shared loop, parked in epoll, is one), a third of a CLI call's time.
   */
  private final io.grpc.netty.shaded.io.netty.channel.EventLoopGroup loop = new io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup(1);
  private final String address;
  private final Duration timeout;

  AdminClient(String address, Config config) {
    this.address = address;
    this.timeout = config.getDuration("dpu-coordinator.cli.call-timeout");
    HostPort target = HostPort.parse(address, "the admin address (--admin or dpu-coordinator.cli.admin-address)");
    String host = target.host();
    int port = target.port();
    this.channel = ClientTls.at(config, TlsOptions.KEY).channel(host, port).eventLoopGroup(loop)
        .channelType(io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel.class).build();
  }

  private static <Q extends com.google.protobuf.Message, R extends com.google.protobuf.Message> MethodDescriptor<Q, R> method(String name,
      Q request, R response) {
    return MethodDescriptor.<Q, R>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(NpuAdmin.name, name))
        .setRequestMarshaller(ProtoUtils.marshaller(request)).setResponseMarshaller(ProtoUtils.marshaller(response)).build();
  }

  StartCampaignResponse start(String reason, String kind, boolean force) throws Unreachable {
    return call(START, StartCampaignRequest.newBuilder().setReason(reason).setKind(kind).setForce(force).build());
  }

  ModuleResponse module(String kind, String dpuId, String reason, boolean force) throws Unreachable {
    ModuleRequest request = ModuleRequest.newBuilder().setDpuId(dpuId).setReason(reason).setForce(force).build();
    return call(kind.equals("shutdown") ? MODULE_SHUTDOWN : MODULE_STARTUP, request);
  }

  StartCampaignResponse cancel(String reason) throws Unreachable {
    return call(CANCEL, CancelCampaignRequest.newBuilder().setReason(reason).build());
  }

  JsonNode plan(boolean force) throws Unreachable {
    return Json.read(call(PLAN, PlanRequest.newBuilder().setForce(force).build()).getJson());
  }

  JsonNode status() throws Unreachable {
    return Json.read(call(STATUS, StatusRequest.getDefaultInstance()).getJson());
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
    Config config = tls.apply(io.github.dpucoordinator.common.AppConfig.loadOwn());
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

  private <Q, R> R call(MethodDescriptor<Q, R> method, Q request) throws Unreachable {
    try {
      return ClientCalls.blockingUnaryCall(channel, method, CallOptions.DEFAULT.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS),
          request);
    } catch (RuntimeException e) {
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
    channel.shutdownNow();
    try {
      channel.awaitTermination(1, TimeUnit.SECONDS);
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
