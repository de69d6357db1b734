package io.github.dpucoordinator.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class GrpcDescriptionsTest {
  @Test
  void aCutKeepsWholeEscapesAndWholeCharactersWhereverTheLimitFalls() {
    for (int shift = 0; shift < 9; shift++) { // the euro sign is 3 bytes, 9 characters encoded: every offset into one
      String encoded = "a".repeat(shift) + "%E2%82%AC".repeat(300);
      String cut = GrpcDescriptions.cut(encoded);
      String kept = cut.substring(0, cut.indexOf(" ... "));
      assertTrue(cut.length() <= GrpcDescriptions.MAX, cut);
      assertTrue(kept.length() > GrpcDescriptions.MAX - 64 - 9, "cut no further back than the character it was in: " + kept.length());
      String decoded = URLDecoder.decode(kept, StandardCharsets.UTF_8);
      assertEquals("a".repeat(shift) + "\u20ac".repeat((kept.length() - shift) / 9), decoded, "shift " + shift);
      assertTrue(cut.endsWith(String.format(java.util.Locale.ROOT, "(description cut: %,d bytes encoded)", encoded.length())), cut);
    }
  }

  @Test
  void aShortDescriptionIsLeftAlone() {
    String encoded = "no image app:1 in the store";
    assertEquals(encoded, GrpcDescriptions.cut(encoded));
  }
}
