package io.github.dpucoordinator.common;

import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;

/** Failures of asynchronous work, in one place: unwrapped, described for an operator, and turned into a step's result. */
public final class Failures {
  private Failures() {}

  /** The failure inside any {@link CompletionException} (and bare RuntimeException) wrappers; null for none. */
  public static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    while (t != null && (t instanceof CompletionException || t.getClass() == RuntimeException.class) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * Whether a gRPC call that ended with {@code status} never reached its server (no connection: UNAVAILABLE from the
   * transport, with a cause or one of its io messages) or lost its connection in the middle (the server was killed or
   * restarted), rather than hearing a status the server chose: asking again later is the answer, not a verdict.
   */
  public static boolean notReached(io.grpc.Status status) {
    if (status.getCode() != io.grpc.Status.Code.UNAVAILABLE) {
      return false;
    }
    String d = String.valueOf(status.getDescription());
    // the connection lost in the middle of a call (the peer killed or restarted) says so in grpc-java's own words
    return status.getDescription() == null || status.getCause() != null || d.contains("io exception") || d.contains("Connection refused")
        || d.contains("Channel shutdown") || d.contains("Network closed for unknown reason") || d.contains("Connection closed after GOAWAY");
  }

  /** A failure as an operator should read it: the gRPC status, or "no answer within ...". */
  public static String describe(Throwable failure) {
    Throwable t = unwrap(failure);
    if (t == null) {
      return "no failure";
    }
    if (t instanceof TimeoutException) {
      return t.getMessage() != null ? t.getMessage() : "no answer in time";
    }
    String message = t.getMessage();
    // gRPC's transport failures add the Netty pipeline on a line of their own: noise in a log line
    String said = message == null || message.isBlank() ? t.getClass().getSimpleName() : message.lines().findFirst().orElse(message);
    if (said.contains("Network closed for unknown reason")) {
      said += " (a server that requires TLS closes a plaintext client's connection so: check both ends' tls mode)";
    }
    return said + tlsCause(t);
  }

  /**
   * Where a failed call's causes include a TLS failure (an untrusted or unnamed certificate, a peer that does not speak
   * TLS), that failure, since gRPC only says "io exception": " (TLS: ...)", or "" when there is none.
   */
  static String tlsCause(Throwable t) {
    for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      String name = c.getClass().getName();
      if (c instanceof javax.net.ssl.SSLException || name.endsWith("NotSslRecordException") || name.endsWith("DecoderException")
          && c.getCause() instanceof javax.net.ssl.SSLException) {
        Throwable root = c;
        while (root.getCause() != null && root.getCause() != root) {
          root = root.getCause();
        }
        String why = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return " (TLS: " + (name.endsWith("NotSslRecordException") ? "the peer does not speak TLS" : why) + ")";
      }
    }
    return "";
  }

  /** A step's result, or (it could not even report one) a failed step {@code name} saying why. */
  public static StepResult orFailed(StepResult result, Throwable failure, String name) {
    return result != null ? result : new StepResult(name, false, describe(failure), 0);
  }

  /** The same for steps run in order. */
  public static List<StepResult> orFailed(List<StepResult> results, Throwable failure, String name) {
    return results != null ? results : List.of(new StepResult(name, false, describe(failure), 0));
  }
}
