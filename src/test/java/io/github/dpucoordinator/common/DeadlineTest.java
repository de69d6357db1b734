package io.github.dpucoordinator.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class DeadlineTest {
  @Test
  void aCallWithoutAnAnswerFailsSayingWhatDidNotAnswerWithinHowLong() {
    CompletableFuture<String> never = new CompletableFuture<>();
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> Deadline.within(never, Duration.ofMillis(200), "gNOI RebootStatus of DPU0 at 127.0.0.1:8080").get());
    assertInstanceOf(TimeoutException.class, e.getCause());
    assertEquals("gNOI RebootStatus of DPU0 at 127.0.0.1:8080: no answer within 0.2 s", e.getCause().getMessage());
  }

  @Test
  void anAnswerInTimeIsPassedOn() throws Exception {
    assertEquals("ok", Deadline.within(CompletableFuture.completedFuture("ok"), Duration.ofSeconds(5), "x").get());
  }
}
