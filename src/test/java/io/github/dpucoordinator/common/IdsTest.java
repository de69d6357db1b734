package io.github.dpucoordinator.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Ids drawn within one second never repeat, even when the random suffix does. */
class IdsTest {
  @Test
  void twoIdsInTheSameSecondWithTheSameRandomSuffixAreStillDifferent() {
    Random sameThenOther = new Random() {
      private int calls;

      @Override
      public int nextInt(int bound) {
        return calls++ < 2 ? 7 : 8;
      }
    };
    long now = 1_796_510_000_123L;
    String first = Ids.newId(sameThenOther, "c", now);
    String second = Ids.newId(sameThenOther, "c", now + 500);
    assertEquals("c20261205T223320-1007", first);
    assertNotEquals(first, second);
    assertEquals("c20261205T223320-1008", second);
  }
}
