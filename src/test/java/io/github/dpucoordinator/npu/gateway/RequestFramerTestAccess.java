package io.github.dpucoordinator.npu.gateway;

/** Lets tests in other packages use the seed's example exactly as RequestFramerTest holds it. */
public final class RequestFramerTestAccess {
  public static final String SEED_EXAMPLE = RequestFramerTest.SEED_EXAMPLE;

  private RequestFramerTestAccess() {}
}
