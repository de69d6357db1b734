package io.github.dpucoordinator.npu.containerz;

/**
 * A Containerz request that cannot be done, with the gRPC status code the protocol gives it (the service maps
 * {@link Code} one to one onto {@code io.grpc.Status.Code}) and a message that says why and, where it helps, what to do.
 */
public final class ContainerzError extends Exception {

  /** The codes the Containerz protocol uses for refusals. */
  public enum Code { INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL }

  private final Code code;

  public ContainerzError(Code code, String message) {
    super(message);
    this.code = code;
  }

  public ContainerzError(Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public Code code() {
    return code;
  }

  /** The refusal behind a failed stage ({@code CompletionException}, {@code ExecutionException} unwrapped); anything else INTERNAL. */
  public static ContainerzError from(Throwable t) {
    Throwable c = t;
    while ((c instanceof java.util.concurrent.CompletionException || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
      c = c.getCause();
    }
    return c instanceof ContainerzError z ? z : new ContainerzError(Code.INTERNAL, String.valueOf(c.getMessage()), c);
  }
}
