package io.github.dpucoordinator.npu.settings;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.StepSpec;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The {@code dpu-coordinator.npu} section, validated once at start. */
public record NpuSettings(
    List<DpuEndpoint> dpus,
    Path dataDir,
    Admin admin,
    RetrySettings signal,
    Campaigns campaigns,
    Reboot reboot,
    Retention retention,
    Fleet fleet,
    GnoiSettings gnoi,
    ModuleSettings module,
    GatewaySettings gateway,
    NegotiationSettings negotiation) {

  /**
   * How campaigns run (the top-level keys of the section): {@code ack-deadline}, {@code halt-timeout},
   * {@code state-wait}, {@code watch-retry}, {@code boot-wait}, {@code pre-reboot-tasks} and {@code cancel.restart-halted}.
   */
  public record Campaigns(Duration ackDeadline, Duration haltTimeout, Duration stateWait, Duration watchRetry, Duration bootWait,
      List<StepSpec> preRebootTasks, boolean restartHaltedOnCancel) {
    static Campaigns from(Config c) {
      return new Campaigns(c.getDuration("ack-deadline"), c.getDuration("halt-timeout"), c.getDuration("state-wait"),
          c.getDuration("watch-retry"), c.getDuration("boot-wait"), StepSpec.listFrom(c, "pre-reboot-tasks"),
          c.getBoolean("cancel.restart-halted"));
    }
  }

  /** What is kept: {@code history-per-dpu}, {@code recent-campaigns}, and a snapshot every {@code snapshot-every} events. */
  public record Retention(int historyPerDpu, int recentCampaigns, int snapshotEvery) {
    static Retention from(Config c) {
      return new Retention(c.getInt("history-per-dpu"), c.getInt("recent-campaigns"), c.getInt("snapshot-every"));
    }
  }

  /** The DPUs' protocol when none is given ({@code default-protocol}) and their own policies ({@code dpus[]}). */
  public record Fleet(String defaultProtocol, Map<String, DpuPolicy> policies) {}

  public Duration ackDeadline() {
    return campaigns.ackDeadline();
  }

  public Duration haltTimeout() {
    return campaigns.haltTimeout();
  }

  public Duration stateWait() {
    return campaigns.stateWait();
  }

  public Duration watchRetry() {
    return campaigns.watchRetry();
  }

  public Duration bootWait() {
    return campaigns.bootWait();
  }

  public List<StepSpec> preRebootTasks() {
    return campaigns.preRebootTasks();
  }

  public boolean restartHaltedOnCancel() {
    return campaigns.restartHaltedOnCancel();
  }

  public int historyPerDpu() {
    return retention.historyPerDpu();
  }

  public int recentCampaigns() {
    return retention.recentCampaigns();
  }

  public int snapshotEvery() {
    return retention.snapshotEvery();
  }

  public String defaultProtocol() {
    return fleet.defaultProtocol();
  }

  public Map<String, DpuPolicy> policies() {
    return fleet.policies();
  }

  /**
   * Per-DPU boot wait after the reboot, and whether the DPU is required: a required DPU that is not back
   * in time is flagged as such (its longer boot-wait is what keeps the post-reboot phase open for it).
   */
  public record DpuPolicy(Duration bootWait, boolean required) {}

  /** The DPU's policy: from its `dpus` entry, else boot-wait and not required. */
  /** The configured DPU with this id, if there is one. */
  public java.util.Optional<DpuEndpoint> dpu(String dpuId) {
    return dpus.stream().filter(d -> d.id().equals(dpuId)).findFirst();
  }

  public DpuPolicy policy(String dpuId) {
    return policies().getOrDefault(dpuId, new DpuPolicy(bootWait(), false));
  }

  /**
   * Seed 001's named-pipe IPC. Empty pipe paths mean {@code <data-dir>/run/gnoi_reboot.pipe} and
   * {@code <data-dir>/run/gnoi_reboot_response.pipe}.
   */
  public record GatewaySettings(boolean enabled, String requestPipe, String responsePipe, String mode, int maxRequestBytes,
      Duration checkInterval, Duration responseTimeout) {}

  public java.nio.file.Path requestPipe() {
    return gateway.requestPipe().isBlank() ? dataDir.resolve("run").resolve("gnoi_reboot.pipe") : java.nio.file.Path.of(gateway.requestPipe());
  }

  public java.nio.file.Path responsePipe() {
    return gateway.responsePipe().isBlank() ? dataDir.resolve("run").resolve("gnoi_reboot_response.pipe")
        : java.nio.file.Path.of(gateway.responsePipe());
  }

  /**
   * Single-DPU transitions: the per-DPU power commands ({dpu} is replaced by the DPU id; empty = dry
   * run), their timeout, and how long a started DPU has to answer.
   */
  public record ModuleSettings(String powerOffCommand, String powerOnCommand, Duration commandTimeout, Duration bootWait) {}

  /** How many of each DPU's recent halt durations the campaign state keeps (gnoi.poll.halt-history learns from up to as many). */
  public static final int HALTS_KEPT = 16;

  /**
   * How the gNOI path drives a DPU: the Reboot method, and how RebootStatus is polled during a shutdown (PollSchedule):
   * {@code statusPollInterval} is the longest gap near and after a shutdown and the DPU's gap once it is over;
   * {@code pollFloor} the gap around the expected completion, {@code pollLead} how long before it that starts (at least),
   * {@code sparseCeiling} the longest pause before it (at least the interval), {@code maxCallsPerSecond} the cap per DPU,
   * {@code haltHistory} how many recent halts it learns from.
   */

  public record GnoiSettings(String method, Duration statusPollInterval, Duration pollFloor, Duration pollLead, Duration sparseCeiling,
      int maxCallsPerSecond, int haltHistory) {
    public GnoiSettings(String method, Duration statusPollInterval) {
      this(method, statusPollInterval, Duration.ofMillis(25), Duration.ofMillis(60), Duration.ofSeconds(10), 20, 8);
    }

    static GnoiSettings from(Config c) {
      return new GnoiSettings(c.getString("method"), c.getDuration("status-poll-interval"), c.getDuration("poll.floor"),
          c.getDuration("poll.lead"), c.getDuration("poll.sparse-ceiling"), c.getInt("poll.max-calls-per-second"), c.getInt("poll.halt-history"));
    }

    void validate() {
      if (!Set.of("HALT", "COLD", "WARM").contains(method)) {
        throw new IllegalArgumentException("dpu-coordinator.npu.gnoi.method must be HALT, COLD or WARM, not '" + method + "'");
      }
      if (!positive(statusPollInterval) || !positive(pollFloor) || pollLead.isNegative() || !positive(sparseCeiling)) {
        throw new IllegalArgumentException("dpu-coordinator.npu.gnoi.status-poll-interval, gnoi.poll.floor and gnoi.poll.sparse-ceiling must be "
            + "positive, gnoi.poll.lead not negative");
      }
      if (pollFloor.compareTo(statusPollInterval) > 0) {
        throw new IllegalArgumentException("dpu-coordinator.npu.gnoi.poll.floor (" + pollFloor + ") must not exceed gnoi.status-poll-interval ("
            + statusPollInterval + ")");
      }
      if (maxCallsPerSecond < 1 || haltHistory < 1 || haltHistory > HALTS_KEPT) {
        throw new IllegalArgumentException("dpu-coordinator.npu.gnoi.poll.max-calls-per-second must be at least 1, gnoi.poll.halt-history 1.."
            + HALTS_KEPT + " (the halts the journal keeps per DPU)");
      }
    }
  }

  public static NpuSettings create(Config root) {
    Config c = root.getConfig("dpu-coordinator.npu");
    Config s = c.getConfig("signal");
    NpuSettings settings = new NpuSettings(
        DpuEndpoint.listFrom(c),
        Path.of(c.getString("data-dir")),
        new Admin(c.getString("admin.host"), c.getInt("admin.port"), c.getDuration("admin.ask-timeout")),
        RetrySettings.from(s),
        Campaigns.from(c),
        Reboot.from(c.getConfig("reboot")),
        Retention.from(c),
        new Fleet(c.getString("default-protocol"), policies(c)),
        GnoiSettings.from(c.getConfig("gnoi")),
        new ModuleSettings(c.getString("module.power-off-command"), c.getString("module.power-on-command"),
            c.getDuration("module.command-timeout"), c.getDuration("module.boot-wait")),
        new GatewaySettings(c.getBoolean("gateway.enabled"), c.getString("gateway.request-pipe"), c.getString("gateway.response-pipe"),
            c.getString("gateway.mode"), c.getInt("gateway.max-request-bytes"), c.getDuration("gateway.check-interval"),
            c.getDuration("gateway.response-timeout")),
        NegotiationSettings.from(c));
    settings.validate();
    io.github.dpucoordinator.npu.transport.ChannelIdle.from(root); // refused here, at start, when it cannot work
    return settings;
  }

  public NpuSettings withDpus(List<DpuEndpoint> more) {
    List<DpuEndpoint> all = new ArrayList<>(dpus);
    all.addAll(more);
    NpuSettings s = new NpuSettings(List.copyOf(all), dataDir, admin, signal, campaigns, reboot, retention, fleet, gnoi, module, gateway,
        negotiation);
    s.validate();
    return s;
  }

  public NpuSettings withNegotiation(NegotiationSettings n) {
    NpuSettings s = new NpuSettings(dpus, dataDir, admin, signal, campaigns, reboot, retention, fleet, gnoi, module, gateway, n);
    s.validate();
    return s;
  }

  /** Refuses settings that cannot work together, naming the keys. */
  void validate() {
    Set<String> ids = new HashSet<>();
    for (DpuEndpoint d : dpus) {
      if (!ids.add(d.id())) {
        throw new IllegalArgumentException("DPU id " + d.id() + " is configured twice (dpu-coordinator.npu.dpus / --dpu)");
      }
    }
    if (signal.maxAttempts() < 1) {
      throw new IllegalArgumentException("dpu-coordinator.npu.signal.max-attempts must be at least 1");
    }
    if (signal.factor() < 1.0 || signal.jitter() < 0 || signal.jitter() >= 1) {
      throw new IllegalArgumentException("dpu-coordinator.npu.signal.backoff-factor must be >= 1 and jitter in [0, 1)");
    }
    if (!positive(admin.askTimeout())) {
      throw new IllegalArgumentException(Admin.ASK_TIMEOUT + " must be positive");
    }
    if (!positive(ackDeadline()) || !positive(bootWait()) || !positive(stateWait()) || !positive(signal.rpcTimeout())) {
      throw new IllegalArgumentException(
          "dpu-coordinator.npu.ack-deadline, boot-wait, state-wait and signal.rpc-timeout must be positive");
    }
    if (signal.rpcTimeout().compareTo(ackDeadline()) > 0) {
      throw new IllegalArgumentException("dpu-coordinator.npu.signal.rpc-timeout (" + signal.rpcTimeout()
          + ") exceeds dpu-coordinator.npu.ack-deadline (" + ackDeadline() + "): no attempt could finish in time");
    }
    if (!defaultProtocol().equals(DpuEndpoint.GNOI) && !defaultProtocol().equals(DpuEndpoint.REBOOT_SERVICE)) {
      throw new IllegalArgumentException("dpu-coordinator.npu.default-protocol must be gnoi or reboot-service, not '" + defaultProtocol() + "'");
    }
    gnoi.validate();
    if (!positive(haltTimeout())) {
      throw new IllegalArgumentException("dpu-coordinator.npu.halt-timeout must be positive");
    }
    if (!gateway.mode().matches("0?[0-7]{3}")) {
      throw new IllegalArgumentException("dpu-coordinator.npu.gateway.mode must be an octal mode like 0600, not '" + gateway.mode() + "'");
    }
    if (gateway.maxRequestBytes() < 256) {
      throw new IllegalArgumentException("dpu-coordinator.npu.gateway.max-request-bytes must be at least 256");
    }
    // Budgets must fit inside the limits that enclose them, or a DPU can be cut off before its own time is up.
    Duration perDpu = perDpuBudget();
    if (perDpu.compareTo(ackDeadline()) > 0) {
      throw new IllegalArgumentException("one DPU's budget (dpu-coordinator.npu.signal: " + signal.maxAttempts() + " attempts x rpc-timeout "
          + signal.rpcTimeout().toMillis() + " ms + pauses = " + signal.budget().toMillis() + " ms, plus dpu-coordinator.npu.halt-timeout "
          + haltTimeout().toMillis() + " ms = " + perDpu.toMillis() + " ms) exceeds dpu-coordinator.npu.ack-deadline (" + ackDeadline().toMillis()
          + " ms): raise the deadline or lower the attempts, rpc-timeout or halt-timeout");
    }
    if (gateway.enabled() && gateway.responseTimeout().compareTo(perDpu) < 0) {
      throw new IllegalArgumentException("dpu-coordinator.npu.gateway.response-timeout (" + gateway.responseTimeout().toMillis()
          + " ms) is shorter than one DPU's budget (" + perDpu.toMillis() + " ms, from dpu-coordinator.npu.signal and halt-timeout): "
          + "pipe requests would be answered FAILURE while their DPU is still within its time");
    }
    negotiation.validate();
    if (historyPerDpu() < 1 || recentCampaigns() < 1 || snapshotEvery() < 1) {
      throw new IllegalArgumentException("dpu-coordinator.npu.history-per-dpu, recent-campaigns and snapshot-every must be at least 1");
    }
  }

  private static Map<String, DpuPolicy> policies(Config c) {
    Map<String, DpuPolicy> policies = new java.util.LinkedHashMap<>();
    for (Config d : c.getConfigList("dpus")) {
      if (d.hasPath("boot-wait") || d.hasPath("required")) {
        policies.put(d.getString("id"), new DpuPolicy(d.hasPath("boot-wait") ? d.getDuration("boot-wait") : c.getDuration("boot-wait"),
            d.hasPath("required") && d.getBoolean("required")));
      }
    }
    return Map.copyOf(policies);
  }

  /** What one DPU may take in a campaign: every signal attempt and pause, then the halt timeout. */
  public Duration perDpuBudget() {
    return signal.budget().plus(haltTimeout());
  }

  static boolean positive(Duration d) {
    return !d.isNegative() && !d.isZero();
  }

  /**
   * The {@code admin} section: where the admin API binds, and how long a call of the admin API, the DPU API or the
   * named pipe waits for the coordinator before it answers DEADLINE_EXCEEDED.
   */
  public record Admin(String host, int port, Duration askTimeout) {
    public static final String ASK_TIMEOUT = "dpu-coordinator.npu.admin.ask-timeout";
  }

  public String adminHost() {
    return admin.host();
  }

  public int adminPort() {
    return admin.port();
  }

  public boolean dryRun() {
    return reboot.command().isBlank();
  }

  /**
   * The {@code reboot} section: the NPU's reboot action (sh -c; empty = dry run), how long it may run, how long
   * to wait after it returns before concluding the host is still up, and whether an action this service's own
   * death interrupted (same boot, no return on record) is run again or only reported.
   */
  public record Reboot(String command, Duration timeout, Duration returnAfter, boolean runInterruptedAgain) {
    public static final String AFTER_INTERRUPTION = "dpu-coordinator.npu.reboot.after-interruption";

    static Reboot from(Config c) {
      String after = c.getString("after-interruption");
      if (!after.equals("run-again") && !after.equals("report")) {
        throw new IllegalArgumentException(AFTER_INTERRUPTION + " must be run-again or report, not '" + after + "'");
      }
      return new Reboot(c.getString("command"), c.getDuration("timeout"), c.getDuration("return-after"), after.equals("run-again"));
    }
  }
}
