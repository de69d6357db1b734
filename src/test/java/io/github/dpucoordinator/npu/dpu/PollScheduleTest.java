package io.github.dpucoordinator.npu.dpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.npu.settings.NpuSettings.GnoiSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The gNOI poll schedule, on a clock of its own: when it polls, how many times, and what it learns. */
class PollScheduleTest {
  private static final GnoiSettings SETTINGS = new GnoiSettings("HALT", Duration.ofSeconds(1), Duration.ofMillis(25), Duration.ofMillis(60),
      Duration.ofSeconds(10), 20, 8);

  /** The times (ms from the acknowledgment at 0) it polls at until {@code doneAt}, the first poll at or after it included. */
  private static List<Long> pollsUntil(PollSchedule s, long doneAt) {
    List<Long> at = new ArrayList<>();
    long now = 0;
    s.acknowledged(0);
    for (int i = 0; i < 100 && (at.isEmpty() || at.get(at.size() - 1) < doneAt); i++) {
      now += s.next(now, false).toMillis();
      at.add(now);
      if (now < doneAt) {
        s.active(now);
      }
    }
    return at;
  }

  @Test
  void withAStableHistoryItWaitsOutTheHaltThenPollsDenselyAroundItsEnd() {
    PollSchedule s = new PollSchedule(SETTINGS, List.of(1490L, 1500L, 1510L));
    assertTrue(new PollSchedule(SETTINGS, List.of(1500L)).describe().contains("expected halt 1500 ms"));
    List<Long> polls = pollsUntil(s, 1505);
    // lead: max(60, spread 20 + floor 25) = 60: one pause to 1440, then every 25 ms
    assertEquals(List.of(1440L, 1465L, 1490L, 1515L), polls);
    assertTrue(polls.get(polls.size() - 1) - 1505 <= 25, "seen within a floor of its end");
    assertTrue(s.planned());
    // the halt as learnt: halfway between the last active poll (1490) and the one that saw it done (1515)
    assertEquals(1502, s.halt(1515, false));
    assertEquals(1515, s.halt(1515, true), "a long poll tells the end at once");
  }

  @Test
  void aHaltLongerThanExpectedIsFollowedWithGapsDoublingToTheCeiling() {
    PollSchedule s = new PollSchedule(SETTINGS, List.of(500L));
    List<Long> polls = pollsUntil(s, 3_000);
    assertEquals(440L, polls.get(0));
    List<Long> gaps = new ArrayList<>();
    for (int i = 1; i < polls.size(); i++) {
      gaps.add(polls.get(i) - polls.get(i - 1));
    }
    // dense to 560, then 50, 100, 200, 400, 800, 1000, 1000 ...
    assertEquals(List.of(25L, 25L, 25L, 25L, 25L, 50L, 100L, 200L, 400L, 800L, 1000L), gaps.subList(0, 11));
  }

  @Test
  void withoutHistoryItStartsQuickAndSlowsToTheCeiling() {
    PollSchedule s = new PollSchedule(SETTINGS, List.of());
    assertFalse(s.planned(), "no history: the first poll goes at once, as before");
    List<Long> polls = pollsUntil(s, 4_000);
    assertEquals(List.of(50L, 125L, 237L, 405L, 657L, 1035L, 1602L, 2452L, 3452L), polls.subList(0, 9));
  }

  @Test
  void aLongHaltIsWaitedOutInPausesNoLongerThanTheSparseCeiling() {
    PollSchedule s = new PollSchedule(SETTINGS, List.of(25_000L));
    List<Long> polls = pollsUntil(s, 25_000);
    assertEquals(List.of(10_000L, 20_000L, 24_940L), polls.subList(0, 3));
    assertTrue(polls.size() <= 7, polls.toString());
  }

  @Test
  void aHaltOverBeforeTheFirstPollIsLearntAsTheTimeToThatPollAndOneOddHaltDoesNotWidenTheWindow() {
    PollSchedule s = new PollSchedule(SETTINGS, List.of(1000L));
    List<Long> polls = pollsUntil(s, 900); // quicker this time: the first poll, at 940 ms, finds it done
    assertEquals(List.of(940L), polls);
    assertEquals(940, s.halt(940, false), "the most it took, not half of it");
    PollSchedule learnt = new PollSchedule(SETTINGS, List.of(1000L, 1000L, 1000L, 1010L, 990L, 1000L, 1000L, 470L));
    assertEquals(List.of(940L, 965L, 990L, 1015L), pollsUntil(learnt, 1000), "lead 60 ms: the middle half's spread is 10 ms");
  }

  @Test
  void noMoreCallsThanTheCapInAnySecond() {
    GnoiSettings capped = new GnoiSettings("HALT", Duration.ofSeconds(1), Duration.ofMillis(10), Duration.ofSeconds(2), Duration.ofSeconds(10), 5, 8);
    PollSchedule s = new PollSchedule(capped, List.of(100L));
    List<Long> polls = pollsUntil(s, 1_500);
    for (int i = 5; i < polls.size(); i++) {
      assertTrue(polls.get(i) - polls.get(i - 5) >= 1_000, "6 calls within a second: " + polls);
    }
  }

  @Test
  void afterTheShutdownOrBeforeTheAcknowledgmentItPollsAtTheInterval() {
    PollSchedule s = new PollSchedule(SETTINGS, List.of(500L));
    assertFalse(s.planned(), "no acknowledgment yet (a restarted service): not planned");
    assertEquals(Duration.ofSeconds(1), s.next(0, false));
    s.acknowledged(0);
    assertEquals(Duration.ofSeconds(1), s.next(5_000, true));
  }
}
