package io.github.dpucoordinator.npu.transport;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** Routes each call to the transport of the DPU's configured protocol. */
public final class ProtocolTransport implements DpuTransport {
  private final Map<String, DpuTransport> byProtocol;

  private final DpuTls tls;

  public ProtocolTransport(Map<String, DpuTransport> byProtocol) {
    this(byProtocol, DpuTls.plaintext());
  }

  /** {@code tls}: how the transports reach the DPUs, for status. */
  public ProtocolTransport(Map<String, DpuTransport> byProtocol, DpuTls tls) {
    this.byProtocol = Map.copyOf(byProtocol);
    this.tls = tls;
  }

  @Override
  public DpuTls tls() {
    return tls;
  }

  private DpuTransport of(DpuEndpoint dpu) {
    DpuTransport t = byProtocol.get(dpu.protocol());
    if (t == null) {
      throw new IllegalArgumentException("DPU " + dpu.id() + ": no transport for protocol " + dpu.protocol());
    }
    return t;
  }

  @Override
  public CompletionStage<SignalReply> signal(DpuEndpoint dpu, SignalRequest request, Duration timeout) {
    return of(dpu).signal(dpu, request, timeout);
  }

  @Override
  public CompletionStage<Observation> observe(DpuEndpoint dpu, String campaignId, Evidence evidence, long knownVersion, Duration wait,
      Duration timeout) {
    return of(dpu).observe(dpu, campaignId, evidence, knownVersion, wait, timeout);
  }

  @Override
  public boolean needsBaseline(DpuEndpoint dpu) {
    return of(dpu).needsBaseline(dpu);
  }

  @Override
  public boolean longPolls(DpuEndpoint dpu) {
    return of(dpu).longPolls(dpu);
  }

  @Override
  public CompletionStage<Baseline> baseline(DpuEndpoint dpu, Duration timeout) {
    return of(dpu).baseline(dpu, timeout);
  }

  @Override
  public void close() {
    byProtocol.values().forEach(DpuTransport::close);
  }
}
