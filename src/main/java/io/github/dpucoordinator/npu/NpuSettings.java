package io.github.dpucoordinator.npu;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.StepSpec;
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
    Negotiation negotiation) {

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
   * What the NPU negotiates with its DPUs beyond the seed's signal: DPU-initiated reboots (hooks and
   * postponement), DEFER and protective-state caps, escalation to a force action, the watcher of
   * unplanned events, and the reboot command per campaign kind.
   *
   * @param postponeExitCode a pre-DPU-reboot hook exiting with this code asks the DPU to wait
   * @param forceCommands per-DPU force actions ({@code dpus[].force-command}); the rest use {@code forceCommand}
   */
  public record Negotiation(String identity, String dpuApiHost, int dpuApiPort, List<StepSpec> dpuRebootHooks,
      int postponeExitCode, Duration postponeFor, Duration maxPostponeTotal, Duration answerWithin, Duration deferMaxTotal,
      Duration protectiveMaxWait, String protectiveAtCap, Duration protectiveRecheck, String forceCommand,
      Duration forceTimeout, Map<String, String> forceCommands, boolean watchEnabled, Duration watchInterval, int watchGoneAfter,
      String warmCommand, String powerOffCommand) {

    static Negotiation from(Config c) {
      Map<String, String> force = new java.util.LinkedHashMap<>();
      for (Config d : c.getConfigList("dpus")) {
        if (d.hasPath("force-command")) {
          force.put(d.getString("id"), d.getString("force-command"));
        }
      }
      return new Negotiation(c.getString("identity"), c.getString("dpu-api.host"), c.getInt("dpu-api.port"),
          StepSpec.listFrom(c, "dpu-reboot.hooks"), c.getInt("dpu-reboot.postpone-exit-code"),
          c.getDuration("dpu-reboot.postpone-for"), c.getDuration("dpu-reboot.max-postpone-total"),
          c.getDuration("dpu-reboot.answer-within"), c.getDuration("defer.max-total"), c.getDuration("protective.max-wait"),
          c.getString("protective.at-cap"), c.getDuration("protective.recheck-interval"), c.getString("escalation.force-command"),
          c.getDuration("escalation.command-timeout"), Map.copyOf(force), c.getBoolean("watch.enabled"),
          c.getDuration("watch.interval"), c.getInt("watch.gone-after"), c.getString("reboot.warm-command"),
          c.getString("reboot.power-off-command"));
    }

    /** The force action of one DPU ({dpu} replaced by its id); empty = dry run. */
    public String forceCommandFor(String dpuId) {
      return forceCommands.getOrDefault(dpuId, forceCommand).replace("{dpu}", dpuId);
    }

    public boolean abortAtProtectiveCap() {
      return protectiveAtCap.equals("abort");
    }

    public Negotiation withWatch(boolean enabled, Duration interval) {
      return new Negotiation(identity, dpuApiHost, dpuApiPort, dpuRebootHooks, postponeExitCode, postponeFor, maxPostponeTotal,
          answerWithin, deferMaxTotal, protectiveMaxWait, protectiveAtCap, protectiveRecheck, forceCommand, forceTimeout,
          forceCommands, enabled, interval, watchGoneAfter, warmCommand, powerOffCommand);
    }

    public Negotiation withDpuRebootHooks(List<StepSpec> hooks) {
      return new Negotiation(identity, dpuApiHost, dpuApiPort, List.copyOf(hooks), postponeExitCode, postponeFor, maxPostponeTotal,
          answerWithin, deferMaxTotal, protectiveMaxWait, protectiveAtCap, protectiveRecheck, forceCommand, forceTimeout,
          forceCommands, watchEnabled, watchInterval, watchGoneAfter, warmCommand, powerOffCommand);
    }

    void validate() {
      String k = "dpu-coordinator.npu.";
      if (!positive(postponeFor) || !positive(maxPostponeTotal) || !positive(answerWithin) || deferMaxTotal.isNegative()
          || protectiveMaxWait.isNegative() || !positive(protectiveRecheck) || !positive(forceTimeout) || !positive(watchInterval)) {
        throw new IllegalArgumentException(k + "dpu-reboot.postpone-for, max-postpone-total, answer-within, protective.recheck-interval, "
            + "escalation.command-timeout and watch.interval must be positive; defer.max-total and protective.max-wait not negative");
      }
      if (postponeFor.compareTo(maxPostponeTotal) > 0) {
        throw new IllegalArgumentException(k + "dpu-reboot.postpone-for (" + postponeFor.toMillis() + " ms) exceeds " + k
            + "dpu-reboot.max-postpone-total (" + maxPostponeTotal.toMillis() + " ms): one postponement would break the cap");
      }
      long hooks = dpuRebootHooks.stream().mapToLong(t -> t.isSimulated() ? t.simulated().toMillis() : t.timeout().toMillis()).sum();
      if (hooks > answerWithin.toMillis()) {
        throw new IllegalArgumentException("the pre-DPU-reboot hooks (" + k + "dpu-reboot.hooks) may take " + hooks + " ms, more than "
            + k + "dpu-reboot.answer-within (" + answerWithin.toMillis() + " ms): a DPU would stop waiting for the answer first");
      }
      if (!protectiveAtCap.equals("proceed") && !protectiveAtCap.equals("abort")) {
        throw new IllegalArgumentException(k + "protective.at-cap must be proceed or abort, not '" + protectiveAtCap + "'");
      }
      if (watchGoneAfter < 1) {
        throw new IllegalArgumentException(k + "watch.gone-after must be at least 1");
      }
    }
  }

  /**
   * Per-DPU boot wait after the reboot, and whether the DPU is required: a required DPU that is not back
   * in time is flagged as such (its longer boot-wait is what keeps the post-reboot phase open for it).
   */
  public record DpuPolicy(Duration bootWait, boolean required) {}

  /** The DPU's policy: from its `dpus` entry, else boot-wait and not required. */
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

  /** How the gNOI path drives a DPU: the Reboot method of a pre-reboot shutdown, and the RebootStatus poll interval. */
  public record GnoiSettings(String method, Duration statusPollInterval) {}

  /** Retries of the reboot signal: attempts in all, exponential backoff between them, with jitter. */
  public record RetrySettings(Duration rpcTimeout, int maxAttempts, Duration backoffMin, Duration backoffMax, double factor, double jitter) {
    /** The pause after failed attempt {@code attempt} (1-based), before jitter. */
    public Duration backoff(int attempt) {
      double millis = backoffMin.toMillis() * Math.pow(factor, Math.max(0, attempt - 1));
      return Duration.ofMillis((long) Math.min(millis, backoffMax.toMillis()));
    }

    /** Reads a {@code signal} section: rpc-timeout, max-attempts, backoff-min/max/factor, jitter. */
    public static RetrySettings from(Config s) {
      return new RetrySettings(s.getDuration("rpc-timeout"), s.getInt("max-attempts"), s.getDuration("backoff-min"),
          s.getDuration("backoff-max"), s.getDouble("backoff-factor"), s.getDouble("jitter"));
    }

    /** Every attempt timing out, with the longest (jittered) pause after each but the last. */
    public Duration budget() {
      long total = maxAttempts * rpcTimeout.toMillis();
      for (int attempt = 1; attempt < maxAttempts; attempt++) {
        total += Math.round(backoff(attempt).toMillis() * (1 + jitter));
      }
      return Duration.ofMillis(total);
    }

    /** {@link #backoff} spread by +/- jitter, with {@code random} in [0, 1). */
    public Duration backoff(int attempt, double random) {
      long base = backoff(attempt).toMillis();
      return Duration.ofMillis(Math.max(0, Math.round(base * (1 + jitter * (2 * random - 1)))));
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
        new GnoiSettings(c.getString("gnoi.method"), c.getDuration("gnoi.status-poll-interval")),
        new ModuleSettings(c.getString("module.power-off-command"), c.getString("module.power-on-command"),
            c.getDuration("module.command-timeout"), c.getDuration("module.boot-wait")),
        new GatewaySettings(c.getBoolean("gateway.enabled"), c.getString("gateway.request-pipe"), c.getString("gateway.response-pipe"),
            c.getString("gateway.mode"), c.getInt("gateway.max-request-bytes"), c.getDuration("gateway.check-interval"),
            c.getDuration("gateway.response-timeout")),
        Negotiation.from(c));
    settings.validate();
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

  public NpuSettings withNegotiation(Negotiation n) {
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
    if (!java.util.Set.of("HALT", "COLD", "WARM").contains(gnoi.method())) {
      throw new IllegalArgumentException("dpu-coordinator.npu.gnoi.method must be HALT, COLD or WARM, not '" + gnoi.method() + "'");
    }
    if (!positive(haltTimeout()) || !positive(gnoi.statusPollInterval())) {
      throw new IllegalArgumentException("dpu-coordinator.npu.halt-timeout and gnoi.status-poll-interval must be positive");
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

  private static boolean positive(Duration d) {
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
    static final String AFTER_INTERRUPTION = "dpu-coordinator.npu.reboot.after-interruption";

    static Reboot from(Config c) {
      String after = c.getString("after-interruption");
      if (!after.equals("run-again") && !after.equals("report")) {
        throw new IllegalArgumentException(AFTER_INTERRUPTION + " must be run-again or report, not '" + after + "'");
      }
      return new Reboot(c.getString("command"), c.getDuration("timeout"), c.getDuration("return-after"), after.equals("run-again"));
    }
  }
}
