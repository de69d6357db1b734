package io.github.dpucoordinator.e2e;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

/**
 * Inputs for the fuzzer, from a seeded {@link Random}: random bytes, protobuf-shaped messages with random fields of
 * every wire type (strings that are not UTF-8, huge lengths, nested junk, field numbers gNOI and this project use),
 * known words mutated, and now and then a message of several MiB; and lines for the named pipe.
 */
final class Junk {
  private static final List<String> WORDS = List.of("R0", "G1", "DPU0", "HALT", "COLD", "WARM", "POWERDOWN", "cold", "warm", "power-off",
      "defer", "firmware-update", "crash-dump", "clear", "offload/db", "latest", "npu", "operator", "", "\u0000", "../../etc/passwd");
  private final Random random;

  Junk(Random random) {
    this.random = random;
  }

  byte[] message() {
    int kind = random.nextInt(200);
    if (kind == 0) {
      return field(1, bytes(1 + random.nextInt(6 * 1024 * 1024))); // oversized: above the 4 MiB default limit, mostly
    }
    return switch (kind % 4) {
      case 0 -> bytes(random.nextInt(1024));
      case 1 -> structured(0);
      case 2 -> mutate(structured(0));
      default -> words();
    };
  }

  /** Fields 1..6 as known words or small numbers: close to a valid request, to reach past the parser. */
  private byte[] words() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      CodedOutputStream c = CodedOutputStream.newInstance(out);
      for (int f = 1; f <= 6; f++) {
        if (random.nextBoolean()) {
          c.writeString(f, WORDS.get(random.nextInt(WORDS.size())));
        } else if (random.nextBoolean()) {
          c.writeInt64(f, random.nextInt(4) == 0 ? random.nextLong() : random.nextInt(100_000));
        }
      }
      c.flush();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  private byte[] structured(int depth) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      CodedOutputStream c = CodedOutputStream.newInstance(out);
      int fields = random.nextInt(8);
      for (int i = 0; i < fields; i++) {
        int number = random.nextInt(10) == 0 ? 1000 + random.nextInt(4) : random.nextInt(10) == 0 ? (1 << 29) - 1 : 1 + random.nextInt(20);
        switch (random.nextInt(5)) {
          case 0 -> c.writeUInt64(number, random.nextLong());
          case 1 -> c.writeFixed64(number, random.nextLong());
          case 2 -> c.writeFixed32(number, random.nextInt());
          case 3 -> c.writeByteArray(number, depth < 3 && random.nextBoolean() ? structured(depth + 1) : text());
          default -> c.writeBool(number, random.nextBoolean());
        }
      }
      c.flush();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  /** A string field's bytes: a word, ASCII, invalid UTF-8, or long. */
  private byte[] text() {
    return switch (random.nextInt(4)) {
      case 0 -> WORDS.get(random.nextInt(WORDS.size())).getBytes(StandardCharsets.UTF_8);
      case 1 -> new byte[] {(byte) 0xC3, 0x28, (byte) 0xFF, (byte) 0xFE, (byte) 0xED, (byte) 0xA0, (byte) 0x80};
      case 2 -> "x".repeat(random.nextInt(random.nextInt(20) == 0 ? 65_536 : 64)).getBytes(StandardCharsets.UTF_8);
      default -> bytes(random.nextInt(32));
    };
  }

  private byte[] mutate(byte[] m) {
    if (m.length == 0) {
      return bytes(1 + random.nextInt(8));
    }
    byte[] b = m.clone();
    switch (random.nextInt(3)) {
      case 0 -> b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
      case 1 -> b = java.util.Arrays.copyOf(b, random.nextInt(b.length)); // truncated
      default -> b[random.nextInt(b.length)] = (byte) 0xFF; // a length or tag of 127+
    }
    return b;
  }

  private static byte[] field(int number, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      CodedOutputStream c = CodedOutputStream.newInstance(out);
      c.writeByteArray(number, payload);
      c.flush();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  byte[] bytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** What a writer puts in the request pipe: random bytes, a line of 1 MiB, invalid UTF-8, half a JSON object, JSON junk. */
  byte[] pipeInput() {
    if (random.nextInt(100) == 0) {
      return ("{\"dpu_id\": \"" + "y".repeat(1 << 20) + "\"}\n").getBytes(StandardCharsets.ISO_8859_1); // a line of 1 MiB
    }
    String s = switch (random.nextInt(7)) {
      case 0, 1 -> new String(bytes(random.nextInt(512)), StandardCharsets.ISO_8859_1);
      case 2 -> "{\"dpu_id\": \"G1\", \"method\": \"\u00c3(\"}\n";
      case 3 -> "{\"dpu_id\": \"R0\", \"meth";
      case 4 -> "{\"dpu_id\": " + random.nextLong() + ", \"method\": [1, {}], \"reason\": null}\n";
      case 5 -> "{\"dpu_id\": \"" + WORDS.get(random.nextInt(WORDS.size())) + "\", \"method\": \"" + WORDS.get(random.nextInt(WORDS.size()))
          + "\"}\n";
      default -> "\n\n}{][\u0000\n";
    };
    byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
    if (b.length > 0 && random.nextInt(5) == 0) {
      b[random.nextInt(b.length)] = (byte) 0xFF; // not UTF-8
    }
    return b;
  }
}
