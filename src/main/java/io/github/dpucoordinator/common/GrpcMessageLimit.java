package io.github.dpucoordinator.common;

import io.grpc.Status;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * The largest gRPC message a server takes ({@code dpu-coordinator.grpc.max-message-size}, gRPC's usual 4 MiB): each
 * message's 5-byte frame header is read as the request's bytes go by, and a message declared larger is refused
 * RESOURCE_EXHAUSTED before its payload is gathered (pekko-grpc 1.1 gathers a whole message, of any size, first).
 */
public final class GrpcMessageLimit {
  public static final String KEY = "dpu-coordinator.grpc.max-message-size";

  private GrpcMessageLimit() {}

  /**
   * {@code handler} behind the limit: a strict request is scanned at once, a streamed one as its bytes arrive. A
   * streamed request its handler answered (or failed) without reading (a method no service has, say) is read and
   * dropped as one it stopped reading is (see {@link Check}): the client, which has its answer, leaves such a stream open
   * until its connection closes (its last messages wait for window that never comes), and pekko-http 1.3.0 keeps the
   * bytes it holds for it counted against the connection's flow-control window all that time, about 34 KB for a request
   * of 640 KiB: every call on the connection stalled after 154 such calls (GrpcServersTest). A handler must not read its
   * request after its strict answer (none does: pekko-grpc's unary and server-streaming handlers read it first, and
   * Deploy answers as a stream).
   */
  public static Function<HttpRequest, CompletionStage<HttpResponse>> of(long max, Materializer materializer,
      Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    return request -> {
      HttpEntity entity = request.entity();
      if (entity instanceof HttpEntity.Strict strict) {
        new Frames(max).scan(strict.getData()); // a refusal fails this call as pekko-grpc's own errors do
        return handler.apply(request);
      }
      AtomicBoolean read = new AtomicBoolean();
      Flow<ByteString, ByteString, Object> checked = Flow.fromGraph(new Check(max)).mapMaterializedValue(m -> {
        read.set(true); // its handler reads it
        return m;
      });
      // the scaladsl entity keeps its kind (and length) with its bytes checked; javadsl has no such call
      HttpEntity mine = ((org.apache.pekko.http.scaladsl.model.RequestEntity) entity).transformDataBytes(checked.asScala());
      Runnable drop = () -> { // answered, or failed, and its handler never read it
        if (read.compareAndSet(false, true)) {
          mine.getDataBytes().runWith(Sink.cancelled(), materializer);
        }
      };
      CompletionStage<HttpResponse> answer;
      try {
        answer = handler.apply(request.withEntity((org.apache.pekko.http.javadsl.model.RequestEntity) mine));
      } catch (Exception | Error e) {
        drop.run();
        throw e;
      }
      return answer.whenComplete((response, failure) -> {
        if (failure != null || response.entity().isStrict()) {
          drop.run();
        }
      });
    };
  }

  /** The most of a request read and dropped after its answer (then its stream is reset, as pekko-http would). */
  static final long DROP_MAX = 64L << 20;

  /**
   * Passes a request's bytes on while their frames are within the limit; at the first that is not, fails what reads
   * them (so the call is answered with the refusal) but goes on reading and dropping the rest of the request: cancelling
   * it would reset the HTTP/2 stream, and the client would see CANCELLED instead of the refusal.
   *
   * <p>A handler that stops reading early (a call answered before its request ended, such as a Deploy refused at its
   * first message) is not passed on either: the rest is read and dropped. pekko-http 1.3.0 never gives the bytes it
   * still buffers for a request whose reader cancels back to the connection's flow-control window (apache/pekko-http
   * #1259, fixed after 1.3.0), so every such call shrank that window until, after some thousands, every call on the
   * connection stalled. At most {@link #DROP_MAX} bytes are dropped so.
   */
  private static final class Check extends GraphStage<FlowShape<ByteString, ByteString>> {
    private final Inlet<ByteString> in = Inlet.create("GrpcMessageLimit.in");
    private final Outlet<ByteString> out = Outlet.create("GrpcMessageLimit.out");
    private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
    private final long max;

    Check(long max) {
      this.max = max;
    }

    @Override
    public FlowShape<ByteString, ByteString> shape() {
      return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
      Frames frames = new Frames(max);
      return new GraphStageLogic(shape) {
        private boolean dropping; // refused, or nobody reads any more: the rest of the request is read and dropped
        private long dropped;

        {
          setHandler(in, new AbstractInHandler() {
            @Override
            public void onPush() {
              ByteString bytes = grab(in);
              if (dropping) {
                dropped += bytes.size();
                if (dropped > DROP_MAX) { // a client that goes on sending after its answer: its stream is reset after all
                  cancelStage(new IllegalStateException("dropped " + dropped + " bytes after the answer"));
                  return;
                }
                pull(in);
                return;
              }
              try {
                frames.scan(bytes);
                push(out, bytes);
              } catch (GrpcServiceException e) {
                dropping = true;
                fail(out, e);
                pull(in);
              }
            }
          });
          setHandler(out, new AbstractOutHandler() {
            @Override
            public void onPull() {
              pull(in);
            }

            @Override
            public void onDownstreamFinish(Throwable cause) {
              dropping = true;
              if (!hasBeenPulled(in) && !isClosed(in)) {
                pull(in);
              }
            }
          });
        }
      };
    }
  }

  /** Where the reading is among a request's frames: in a header (how many of its 5 bytes seen) or in a payload. */
  static final class Frames {
    private final long max;
    private int headerSeen;
    private long length;
    private long payloadLeft;

    Frames(long max) {
      this.max = max;
    }

    void scan(ByteString bytes) {
      int i = 0;
      while (i < bytes.size()) {
        if (payloadLeft > 0) {
          int skip = (int) Math.min(payloadLeft, bytes.size() - i);
          i += skip;
          payloadLeft -= skip;
          continue;
        }
        int b = bytes.apply(i++) & 0xff;
        if (headerSeen > 0) { // bytes 1..4: the length, big-endian; byte 0 is the compression flag
          length = (length << 8) | b;
        }
        if (++headerSeen == 5) {
          if (length > max) {
            throw new GrpcServiceException(Status.RESOURCE_EXHAUSTED.withDescription("a gRPC message of " + length
                + " bytes is above this server's limit of " + max + " bytes (" + KEY + ")"));
          }
          payloadLeft = length;
          headerSeen = 0;
          length = 0;
        }
      }
    }
  }
}
