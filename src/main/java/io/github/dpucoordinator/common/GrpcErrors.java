package io.github.dpucoordinator.common;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.grpc.Trailers;
import org.apache.pekko.grpc.javadsl.GrpcExceptionHandler;
import org.apache.pekko.japi.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How every gRPC service of this project answers a request it cannot even read: a message that is not valid protobuf
 * (bad wire type, truncated, a string that is not UTF-8) is INVALID_ARGUMENT with the parser's reason, logged as one
 * line (at most one a second, with how many more were refused since), instead of pekko-grpc's default (INTERNAL and a
 * stack trace per request). Anything else goes to that default.
 */
public final class GrpcErrors {
  private static final Logger log = LoggerFactory.getLogger(GrpcErrors.class);
  private static final java.util.concurrent.atomic.AtomicLong lastLogged = new java.util.concurrent.atomic.AtomicLong();
  private static final java.util.concurrent.atomic.AtomicLong unlogged = new java.util.concurrent.atomic.AtomicLong();

  private GrpcErrors() {}

  public static Function<ActorSystem, Function<Throwable, Trailers>> handler() {
    Function<ActorSystem, Function<Throwable, Trailers>> fallback = GrpcExceptionHandler.defaultMapper();
    return system -> {
      Function<Throwable, Trailers> otherwise = fallback.apply(system);
      return failure -> {
        for (Throwable t = failure; t != null; t = t.getCause()) {
          if (t instanceof InvalidProtocolBufferException bad) {
            long now = System.currentTimeMillis();
            long last = lastLogged.get();
            if (now - last >= 1000 && lastLogged.compareAndSet(last, now)) {
              long more = unlogged.getAndSet(0);
              log.warn("[campaign=- dpu=unknown] malformed gRPC request refused (INVALID_ARGUMENT): {}{}", bad.getMessage(),
                  more == 0 ? "" : " (and " + more + " more since the last such line)");
            } else {
              unlogged.incrementAndGet();
            }
            return new Trailers(Status.INVALID_ARGUMENT.withDescription("malformed request: " + bad.getMessage()));
          }
        }
        return otherwise.apply(failure);
      };
    };
  }
}
