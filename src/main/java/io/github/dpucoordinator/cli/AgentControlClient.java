package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.github.dpucoordinator.agent.api.AgentControlServiceImpl;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.HostPort;
import io.github.dpucoordinator.proto.agentctl.DpuAgentControlClient;
import io.github.dpucoordinator.proto.agentctl.GetRebootNoticeRequest;
import io.github.dpucoordinator.proto.agentctl.HoldStatus;
import io.github.dpucoordinator.proto.agentctl.PostponeRebootRequest;
import io.github.dpucoordinator.proto.agentctl.PostponeRebootResponse;
import io.github.dpucoordinator.proto.agentctl.RebootNoticeStatus;
import io.github.dpucoordinator.proto.agentctl.RequestRebootRequest;
import io.github.dpucoordinator.proto.agentctl.SetHoldRequest;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * The CLI's connection to a DPU agent's control API. The dpu-* commands run on the DPU itself, so the
 * agent's own configured address ({@code dpu-coordinator.agent.host}:{@code port}) is the default.
 */
final class AgentControlClient implements AutoCloseable {

  /** The agent could not be reached or did not answer; the message says where and why. */
  static final class Unreachable extends Exception {
    Unreachable(String message) {
      super(message);
    }
  }

  /** What a command does with a connected client; returns the exit code. */
  interface Body {
    int run(AgentControlClient client, Config config) throws Unreachable;
  }

  private final ActorSystem<Void> system;
  private final DpuAgentControlClient client;
  private final String address;

  private AgentControlClient(String address, Config config) {
    this.address = address;
    HostPort target = HostPort.parse(address, "the agent address (--agent)");
    String host = target.host();
    int port = target.port();
    Config quiet = Systems.clientConfig(config);
    this.system = Systems.create("dpuctl", quiet);
    this.client = DpuAgentControlClient.create(GrpcClientSettings.connectToServiceAt(host, port, system)
        .withTls(false).withDeadline(config.getDuration("dpu-coordinator.cli.call-timeout")).withConnectionAttempts(2), system);
  }

  /**
   * Runs a command against the agent at {@code address} (default: the configured agent), after checking
   * that it is DPU {@code expectedId} when one is given. Unreachable is exit 4; a malformed address or
   * another DPU's agent is exit 2.
   */
  static int run(String command, String address, String expectedId, Body body) {
    Config config = AppConfig.load();
    String target = address != null ? address
        : config.getString("dpu-coordinator.agent.host") + ":" + config.getInt("dpu-coordinator.agent.port");
    try (AgentControlClient client = new AgentControlClient(target, config)) {
      if (expectedId != null) {
        String actual = client.notice().getDpuId();
        if (!actual.equals(expectedId)) {
          System.err.println("dpuctl " + command + ": the agent at " + target + " is DPU " + actual + ", not " + expectedId);
          return ExitCodes.USAGE;
        }
      }
      return body.run(client, config);
    } catch (Unreachable e) {
      System.err.println("dpuctl " + command + ": " + e.getMessage());
      return ExitCodes.UNREACHABLE;
    } catch (IllegalArgumentException e) {
      System.err.println("dpuctl " + command + ": " + e.getMessage());
      return ExitCodes.USAGE;
    }
  }

  /** A duration as the options take it: {@code 90s}, {@code 10m}, {@code 1h}, or plain milliseconds. */
  static Duration duration(String option, String text) {
    try {
      Duration d = ConfigFactory.parseMap(Map.of("d", text.strip())).getDuration("d");
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(option + " must be positive, not '" + text + "'");
      }
      return d;
    } catch (com.typesafe.config.ConfigException e) {
      throw new IllegalArgumentException(option + " '" + text + "' is not a duration; use e.g. 90s, 10m or milliseconds");
    }
  }

  RebootNoticeStatus requestReboot(String reason, long deadlineMs) throws Unreachable {
    return call(() -> client.requestReboot(RequestRebootRequest.newBuilder().setReason(reason).setDeadlineMs(deadlineMs).build()));
  }

  RebootNoticeStatus notice() throws Unreachable {
    return call(() -> client.getRebootNotice(GetRebootNoticeRequest.getDefaultInstance()));
  }

  PostponeRebootResponse postpone(String noticeId, long untilMillis, String reason, String identity) throws Unreachable {
    PostponeRebootRequest request = PostponeRebootRequest.newBuilder().setNoticeId(noticeId).setUntilUnixMs(untilMillis)
        .setReason(reason).build();
    return call(() -> client.postponeReboot().addHeader(AgentControlServiceImpl.IDENTITY_HEADER, identity).invoke(request));
  }

  HoldStatus setHold(String hold, String reason, long durationMs) throws Unreachable {
    return call(() -> client.setHold(SetHoldRequest.newBuilder().setHold(hold).setReason(reason).setDurationMs(durationMs).build()));
  }

  private interface Call<T> {
    java.util.concurrent.CompletionStage<T> run();
  }

  private <T> T call(Call<T> call) throws Unreachable {
    try {
      return call.run().toCompletableFuture().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unreachable("interrupted");
    } catch (Exception e) {
      throw new Unreachable("cannot reach the DPU agent at " + address + ": " + Systems.rootMessage(e) + " (is `dpuctl dpu` running there?)");
    }
  }

  @Override
  public void close() {
    client.close();
    system.terminate();
  }
}
