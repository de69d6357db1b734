package io.github.dpucoordinator.common;

import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.util.ByteString;

/**
 * How this project's DPU agent says, on a gNOI Reboot it refuses, which protective state holds and why: gNOI has no
 * field for it, so the refusal (UNAVAILABLE) carries two trailers, binary so that any text survives. Other gNOI peers
 * ignore them; the NPU reads them instead of the refusal's description.
 */
public final class ProtectiveTrailers {
  private static final Metadata.Key<byte[]> NAME = Metadata.Key.of("dpu-coordinator-protective-bin", Metadata.BINARY_BYTE_MARSHALLER);
  private static final Metadata.Key<byte[]> REASON =
      Metadata.Key.of("dpu-coordinator-protective-reason-bin", Metadata.BINARY_BYTE_MARSHALLER);

  /** The protective state named by a refusal's trailers. */
  public record Protective(String name, String reason) {}

  private ProtectiveTrailers() {}

  /** The trailers of a refusal for protective state {@code name}. */
  public static org.apache.pekko.grpc.javadsl.Metadata of(String name, String reason) {
    return new MetadataBuilder()
        .addBinary(NAME.name(), ByteString.fromString(name, StandardCharsets.UTF_8))
        .addBinary(REASON.name(), ByteString.fromString(reason, StandardCharsets.UTF_8))
        .build();
  }

  /** The protective state a failed call's trailers name; empty when the failure carries none (any other peer). */
  public static Optional<Protective> in(Throwable failure) {
    Metadata trailers = Status.trailersFromThrowable(Failures.unwrap(failure));
    byte[] name = trailers == null ? null : trailers.get(NAME);
    if (name == null || name.length == 0) {
      return Optional.empty();
    }
    byte[] reason = trailers.get(REASON);
    return Optional.of(new Protective(new String(name, StandardCharsets.UTF_8),
        reason == null ? "" : new String(reason, StandardCharsets.UTF_8)));
  }
}
