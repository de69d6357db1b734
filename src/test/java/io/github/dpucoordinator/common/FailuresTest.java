package io.github.dpucoordinator.common;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

class FailuresTest {
  @Test
  void aConnectionLostInTheMiddleOfACallIsNotReachedButAServersOwnUnavailableIsAnAnswer() {
    // what grpc-java says when the NPU is SIGKILLed during a Deploy (found by the soak): not the new version's fault
    assertTrue(Failures.notReached(Status.UNAVAILABLE.withDescription("Network closed for unknown reason")));
    assertTrue(Failures.notReached(Status.UNAVAILABLE.withDescription("io exception")));
    assertTrue(Failures.notReached(Status.UNAVAILABLE.withDescription("Connection closed after GOAWAY. HTTP/2 error code: NO_ERROR")));
    assertFalse(Failures.notReached(Status.UNAVAILABLE.withDescription("2 Deploys run already; try again when one has ended")));
    assertFalse(Failures.notReached(Status.INTERNAL.withDescription("Network closed for unknown reason")));
  }
}
