package io.github.dpucoordinator.common;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.nio.ByteBuffer;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** The frame scan behind {@link GrpcMessageLimit}: headers and payloads split anywhere between the request's chunks. */
class GrpcMessageLimitTest {
  private static ByteString frame(int length) {
    return ByteString.fromByteBuffer(ByteBuffer.allocate(5 + length).put((byte) 0).putInt(length).position(0));
  }

  @Test
  void framesWithinTheLimitPassHoweverTheBytesAreSplit() {
    ByteString all = frame(3).concat(frame(0)).concat(frame(100)).concat(frame(7));
    for (int cut = 0; cut <= all.size(); cut++) {
      GrpcMessageLimit.Frames frames = new GrpcMessageLimit.Frames(100);
      ByteString first = all.take(cut);
      ByteString rest = all.drop(cut);
      assertDoesNotThrow(() -> {
        frames.scan(first);
        frames.scan(rest);
      }, "cut at " + cut);
    }
  }

  @Test
  void aHeaderDeclaringMoreThanTheLimitIsRefusedWhateverTheSplit() {
    ByteString all = frame(10).concat(frame(101).take(5)); // the second frame's header alone: its payload never needed
    for (int cut = 0; cut <= all.size(); cut++) {
      GrpcMessageLimit.Frames frames = new GrpcMessageLimit.Frames(100);
      ByteString first = all.take(cut);
      ByteString rest = all.drop(cut);
      GrpcServiceException refused = assertThrows(GrpcServiceException.class, () -> {
        frames.scan(first);
        frames.scan(rest);
      }, "cut at " + cut);
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());
      assertTrue(refused.getStatus().getDescription().contains("101 bytes") && refused.getStatus().getDescription().contains(GrpcMessageLimit.KEY));
    }
  }

  @Test
  void aLengthAbove2GiBIsReadUnsigned() {
    GrpcMessageLimit.Frames frames = new GrpcMessageLimit.Frames(4L << 20);
    ByteString header = ByteString.fromArray(new byte[] {0, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
    GrpcServiceException refused = assertThrows(GrpcServiceException.class, () -> frames.scan(header));
    assertTrue(refused.getStatus().getDescription().contains("4294967295 bytes"), refused.getStatus().getDescription());
  }
}
