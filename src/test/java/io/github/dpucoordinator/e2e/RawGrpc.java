package io.github.dpucoordinator.e2e;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Calls any gRPC method with any bytes as its messages (grpc-java's own channel, plaintext, loopback): for fuzzing. */
final class RawGrpc implements AutoCloseable {
  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private final ManagedChannel channel;

  RawGrpc(int port) {
    channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().maxInboundMessageSize(32 * 1024 * 1024).build();
  }

  /**
   * Sends {@code messages} on a call of {@code method} ("package.Service/Method"), then half-closes it, or cancels it
   * after them when {@code cut}; the status it ended with (any: what matters is that it ends within the deadline).
   */
  Status call(String method, MethodDescriptor.MethodType type, List<byte[]> messages, boolean cut, long deadlineMillis) throws Exception {
    return start(method, type, messages, cut, deadlineMillis).get(deadlineMillis + 5_000, TimeUnit.MILLISECONDS);
  }

  /** As {@link #call}, without waiting: the status it will end with. */
  CompletableFuture<Status> start(String method, MethodDescriptor.MethodType type, List<byte[]> messages, boolean cut, long deadlineMillis) {
    MethodDescriptor<byte[], byte[]> m = MethodDescriptor.<byte[], byte[]>newBuilder().setType(type).setFullMethodName(method)
        .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    ClientCall<byte[], byte[]> call = channel.newCall(m, CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS));
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(64);
    for (byte[] message : messages) {
      call.sendMessage(message);
    }
    if (cut) {
      call.cancel("fuzz: the stream is cut", null);
    } else {
      call.halfClose();
    }
    return closed;
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
