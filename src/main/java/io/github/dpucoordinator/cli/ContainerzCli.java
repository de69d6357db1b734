package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import io.github.dpucoordinator.common.tls.ClientTls;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * The Containerz client commands' connection: the address ({@code --address}, else {@code dpu-coordinator.cli.containerz-address}),
 * a short-lived client system, and the project's exit codes for what comes back: a refusal (a gRPC status the server
 * chose) is 3, a server that cannot be reached is 4.
 */
final class ContainerzCli implements AutoCloseable {
  /** A call that may fail with a status. */
  interface Call {
    int run(ContainerzCli cli) throws Exception;
  }

  final ActorSystem<Void> system;
  final ContainerzClient client;
  final Duration timeout;

  private ContainerzCli(ActorSystem<Void> system, ContainerzClient client, Duration timeout) {
    this.system = system;
    this.client = client;
    this.timeout = timeout;
  }

  /** Runs {@code call} against the server at {@code address} (or the configured one); the exit code. */
  static int run(String command, String address, TlsOptions tls, Call call) {
    Config config = tls.apply(AppConfig.load());
    String target = address != null ? address : config.getString("dpu-coordinator.cli.containerz-address");
    int colon = target.lastIndexOf(':');
    if (colon < 1) {
      System.err.println("dpuctl " + command + ": --address " + target + " is not HOST:PORT");
      return ExitCodes.USAGE;
    }
    ActorSystem<Void> system = Systems.create("containerz-cli", Systems.clientConfig(config));
    try {
      ClientTls transport = ClientTls.at(config, TlsOptions.KEY);
      GrpcClientSettings settings = transport.apply(GrpcClientSettings.connectToServiceAt(target.substring(0, colon),
          Integer.parseInt(target.substring(colon + 1)), system).withConnectionAttempts(2), target.substring(0, colon));
      try (ContainerzCli cli = new ContainerzCli(system, ContainerzClient.create(settings, system),
          config.getDuration("dpu-coordinator.cli.containerz-timeout"))) {
        return call.run(cli);
      }
    } catch (Exception e) {
      return failed(command, target, e);
    } finally {
      system.terminate();
    }
  }

  /** Waits for a call's answer within the timeout. */
  <T> T await(CompletionStage<T> stage) throws Exception {
    return CallFailures.await(stage, timeout);
  }

  private static int failed(String command, String target, Throwable e) {
    return CallFailures.exit("dpuctl " + command, "cannot reach Containerz at " + target, false, e);
  }

  @Override
  public void close() {
    client.close();
  }

}
