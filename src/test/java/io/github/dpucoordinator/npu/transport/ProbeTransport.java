package io.github.dpucoordinator.npu.transport;

import io.github.dpucoordinator.npu.transport.DpuTransport.Disposition;
import io.github.dpucoordinator.npu.transport.DpuTransport.State;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;

/** A DpuTransport whose every call lands on a probe; the test answers by completing the call's future. */
public final class ProbeTransport implements DpuTransport {

  public record SignalCall(DpuEndpoint dpu, SignalRequest request, CompletableFuture<SignalReply> reply) {}

  /** {@code evidence}: what the caller passed to tell a completion apart on gNOI ({@link Evidence#NONE} when nothing). */
  public record ObserveCall(DpuEndpoint dpu, long knownVersion, Duration maxWait, CompletableFuture<Observation> reply, Evidence evidence) {}

  /** A read of the DPU's reboot record before a signal ({@link #withBaselines}). */
  public record BaselineCall(DpuEndpoint dpu, CompletableFuture<Baseline> reply) {}

  public final TestProbe<Object> calls;
  private volatile boolean baselines;

  /** From now on every DPU is one without campaign ids (as gNOI): its reboot record is read, and journaled, before a signal. */
  public ProbeTransport withBaselines() {
    baselines = true;
    return this;
  }

  @Override
  public boolean needsBaseline(DpuEndpoint dpu) {
    return baselines;
  }

  @Override
  public CompletionStage<Baseline> baseline(DpuEndpoint dpu, Duration timeout) {
    CompletableFuture<Baseline> reply = new CompletableFuture<>();
    calls.ref().tell(new BaselineCall(dpu, reply));
    return reply;
  }

  public ProbeTransport(TestProbe<Object> calls) {
    this.calls = calls;
  }

  @Override
  public CompletionStage<SignalReply> signal(DpuEndpoint dpu, SignalRequest request, Duration timeout) {
    CompletableFuture<SignalReply> reply = new CompletableFuture<>();
    calls.ref().tell(new SignalCall(dpu, request, reply));
    return reply;
  }

  @Override
  public CompletionStage<Observation> observe(DpuEndpoint dpu, String campaignId, Evidence evidence, long knownVersion, Duration wait,
      Duration timeout) {
    CompletableFuture<Observation> reply = new CompletableFuture<>();
    calls.ref().tell(new ObserveCall(dpu, knownVersion, wait, reply, evidence));
    return reply;
  }

  @Override
  public void close() {}

  /** Drops the calls made so far (of a service about to be restarted); waits up to 100 ms of real time for each. */
  public void clearCalls() {
    for (int i = 0; i < 1000; i++) {
      try {
        calls.receiveMessage(java.time.Duration.ofMillis(100));
      } catch (AssertionError none) {
        return;
      }
    }
  }

  /** The next {@code n} signal calls, by DPU id. */
  public Map<String, SignalCall> signals(int n) {
    Map<String, SignalCall> byDpu = new HashMap<>();
    for (int i = 0; i < n; i++) {
      SignalCall c = calls.expectMessageClass(SignalCall.class);
      byDpu.put(c.dpu().id(), c);
    }
    return byDpu;
  }

  /** The next {@code n} observe calls, by DPU id. */
  public Map<String, ObserveCall> observes(int n) {
    Map<String, ObserveCall> byDpu = new HashMap<>();
    for (int i = 0; i < n; i++) {
      ObserveCall c = calls.expectMessageClass(ObserveCall.class);
      byDpu.put(c.dpu().id(), c);
    }
    return byDpu;
  }

  public static SignalReply started(String campaignId) {
    return new SignalReply(Disposition.STARTED, campaignId, State.SHUTDOWN, 3, "ACK STARTED");
  }

  public static Observation shutDown(String campaignId) {
    return new Observation(State.WAIT_FOR_RESTART, 5, java.util.List.of(campaignId), false, "", "boot-1");
  }

  public static Observation listening() {
    return new Observation(State.LISTENING, 6, java.util.List.of(), false, "", "boot-2");
  }
}
