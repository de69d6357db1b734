package io.github.dpucoordinator.common.tls;

import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.GrpcExceptionHandler;
import org.apache.pekko.grpc.javadsl.GrpcMarshalling;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.SslSessionInfo;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who is calling, and may they: in front of a server's gRPC services. The {@value #PEER_HEADER} header is removed from
 * every request, and under mutual TLS set to the identities of the caller's verified certificate, for the services to
 * read (a DPU acting only for itself). A call without a client certificate is refused UNAUTHENTICATED; one the
 * {@link Policy} refuses, PERMISSION_DENIED, logged with the identity and the method.
 */
public final class PeerAuth {
  /** Set by this class only: the caller's certificate identities, comma-separated. */
  public static final String PEER_HEADER = "dpu-coordinator-peer";
  private static final Logger log = LoggerFactory.getLogger(PeerAuth.class);

  /** Decides whether a caller may call a method. */
  public interface Policy {
    /** Empty if {@code identities} may call {@code path} (/package.Service/Method), else why not. */
    Optional<String> refusal(List<String> identities, String path);

    Policy ANY = (identities, path) -> Optional.empty();

    /** Any of {@code allowed} (any verified certificate when empty). */
    static Policy allowList(java.util.Collection<String> allowed, String key) {
      return (identities, path) -> allowed.isEmpty() || identities.stream().anyMatch(allowed::contains) ? Optional.empty()
          : Optional.of("not in " + key);
    }
  }

  private PeerAuth() {}

  public static Function<HttpRequest, CompletionStage<HttpResponse>> wrap(ActorSystem<?> system, ServerTls tls, Policy policy, String server,
      Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    return request -> {
      HttpRequest clean = request.removeHeader(PEER_HEADER);
      if (!tls.mutual()) {
        return handler.apply(clean);
      }
      Optional<X509Certificate> cert = peerCertificate(request);
      String path = request.getUri().path();
      if (cert.isEmpty()) {
        log.warn("{}: {} refused: no client certificate (mutual TLS)", server, path);
        return refuse(system, request, Status.UNAUTHENTICATED.withDescription(server + " needs a client certificate (mutual TLS, "
            + tls.prefix() + ".mode = mtls)"));
      }
      List<String> ids = tls.identities(cert.get());
      if (ids.isEmpty()) {
        return refuse(system, request, Status.UNAUTHENTICATED.withDescription("the client certificate ("
            + cert.get().getSubjectX500Principal().getName() + ") has no identity by " + tls.prefix() + ".identity-from = " + tls.identityFrom()));
      }
      Optional<String> no = policy.refusal(ids, path);
      if (no.isPresent()) {
        log.warn("{}: {} refused to {}: {}", server, path, ids.get(0), no.get());
        return refuse(system, request, Status.PERMISSION_DENIED.withDescription(ids.get(0) + " may not call " + path + " on " + server
            + ": " + no.get()));
      }
      return handler.apply(clean.addHeader(RawHeader.create(PEER_HEADER, String.join(",", ids))));
    };
  }

  /** The identities {@link #wrap} found on a call (from its metadata), empty when not under mutual TLS. */
  public static List<String> identities(org.apache.pekko.grpc.javadsl.Metadata metadata) {
    return metadata.getText(PEER_HEADER).map(v -> List.of(v.split(","))).orElse(List.of());
  }

  private static Optional<X509Certificate> peerCertificate(HttpRequest request) {
    Optional<SslSessionInfo> session = request.getAttribute(AttributeKeys.sslSession);
    if (session.isEmpty()) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = session.get().getSession().getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x ? Optional.of(x) : Optional.empty();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
  }

  private static CompletionStage<HttpResponse> refuse(ActorSystem<?> system, HttpRequest request, Status status) {
    request.discardEntityBytes(system);
    return GrpcMarshalling.negotiated(request, (reader, writer) ->
        (CompletionStage<HttpResponse>) CompletableFuture.completedFuture(GrpcExceptionHandler.standard(new GrpcServiceException(status), writer, system)))
        .orElseGet(() -> CompletableFuture.completedFuture(HttpResponse.create().withStatus(403)));
  }
}
