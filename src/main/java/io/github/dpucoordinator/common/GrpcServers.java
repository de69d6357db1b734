package io.github.dpucoordinator.common;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.ServiceDescription;
import org.apache.pekko.grpc.javadsl.ServerReflection;
import org.apache.pekko.grpc.javadsl.ServiceHandler;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.ServerBuilder;
import io.github.dpucoordinator.common.tls.PeerAuth;
import io.github.dpucoordinator.common.tls.ServerTls;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SystemMaterializer;

/**
 * Binds a set of pekko-grpc services, plus server reflection for them, on one host and port, behind {@link GrpcMessageLimit},
 * with the descriptions of their answers kept within clients' limits ({@link GrpcDescriptions}).
 */
public final class GrpcServers {
  private GrpcServers() {}

  /** A service's partial handler together with its description (for reflection). */
  public record Service(ServiceDescription description, Function<HttpRequest, CompletionStage<HttpResponse>> handler) {}

  public static CompletionStage<ServerBinding> bind(ActorSystem<?> system, String host, int port, List<Service> services) {
    return bind(system, host, port, services, ServerTls.plaintext(), PeerAuth.Policy.ANY, "server");
  }

  /**
   * As {@link #bind(ActorSystem, String, int, List)}, with transport security {@code tls} and, under mutual TLS, who
   * may call what ({@code policy}); {@code name} names the server in refusals and logs.
   */
  public static CompletionStage<ServerBinding> bind(ActorSystem<?> system, String host, int port, List<Service> services, ServerTls tls,
      PeerAuth.Policy policy, String name) {
    List<Function<HttpRequest, CompletionStage<HttpResponse>>> handlers = new ArrayList<>();
    services.forEach(s -> handlers.add(s.handler()));
    handlers.add(ServerReflection.create(services.stream().map(Service::description).toList(), system));
    @SuppressWarnings("unchecked")
    Function<HttpRequest, CompletionStage<HttpResponse>>[] all = handlers.toArray(new Function[0]);
    long max = system.settings().config().getBytes(GrpcMessageLimit.KEY);
    Materializer materializer = SystemMaterializer.get(system).materializer();
    Function<HttpRequest, CompletionStage<HttpResponse>> handler = GrpcDescriptions.capped(
        PeerAuth.wrap(system, tls, policy, name, GrpcMessageLimit.of(max, materializer, ServiceHandler.concatOrNotFound(all))));
    ServerBuilder builder = Http.get(system).newServerAt(host, port);
    return tls.https().map(builder::enableHttps).orElse(builder).bind(handler);
  }
}
