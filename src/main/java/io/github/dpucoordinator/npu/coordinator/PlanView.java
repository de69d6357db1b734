package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.npu.module.ModuleBook;
import io.github.dpucoordinator.npu.notice.NoticeBook;
import io.github.dpucoordinator.npu.settings.NegotiationSettings;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.util.List;

/**
 * What `reboot --plan` shows, without doing anything: the DPUs a campaign would touch (and those left
 * out), the worst case each phase can take under the configured timeouts, retries and caps, and what
 * stands in the way right now.
 */
public record PlanView(List<PlannedDpu> dpus, List<String> leftOut, WorstCase worstCase, List<String> blockers) {

  /** {@code budgetMillis}: every signal attempt and pause, then the halt timeout. */
  public record PlannedDpu(String id, String endpoint, String protocol, long budgetMillis) {}

  /**
   * {@code deferralMillis}: the most DPU deferrals can add (0 with `reboot --force`); {@code protectiveMillis}: the
   * most a DPU in a protective state can hold the campaign past its deadline; {@code escalationMillis}: force actions.
   */
  public record WorstCase(long prepareMillis, long shutdownMillis, long deferralMillis, long protectiveMillis, long escalationMillis,
      long rebootMillis, long postRebootMillis, long totalMillis, String basis) {}

  /** The same plan with more blockers (what the DPUs themselves report, asked just now). */
  public PlanView withBlockers(List<String> more) {
    List<String> all = new java.util.ArrayList<>(blockers);
    all.addAll(more);
    return new PlanView(dpus, leftOut, worstCase, List.copyOf(all));
  }

  /** {@code force}: the campaign would not honour deferrals (`reboot --force`). */
  public static PlanView of(CoordinatorState s, ModuleBook modules, NoticeBook notices, NpuSettings settings, boolean force) {
    long perDpu = settings.perDpuBudget().toMillis();
    List<PlannedDpu> dpus = settings.dpus().stream().filter(d -> !modules.down(d.id()))
        .map(d -> new PlannedDpu(d.id(), d.host() + ":" + d.port(), d.protocol(), perDpu)).toList();
    List<String> leftOut = settings.dpus().stream().filter(d -> modules.down(d.id()))
        .map(d -> d.id() + " (administratively down)").toList();
    long prepare = settings.preRebootTasks().stream()
        .mapToLong(t -> t.isSimulated() ? t.simulated().toMillis() : t.timeout().toMillis()).sum();
    long shutdown = dpus.isEmpty() ? 0 : Math.min(perDpu, settings.ackDeadline().toMillis());
    long reboot = (settings.dryRun() ? 0 : settings.reboot().timeout().toMillis()) + settings.reboot().returnAfter().toMillis();
    long post = dpus.isEmpty() ? 0 : dpus.stream().mapToLong(d -> settings.policy(d.id()).bootWait().toMillis()).max().orElse(0);
    NegotiationSettings n = settings.negotiation();
    long deferral = dpus.isEmpty() || force ? 0 : n.deferMaxTotal().toMillis();
    long protective = dpus.isEmpty() ? 0 : n.protectiveMaxWait().toMillis();
    long escalation = dpus.isEmpty() ? 0 : n.forceTimeout().toMillis();
    boolean gnoi = dpus.stream().anyMatch(d -> d.protocol().equals(DpuEndpoint.GNOI));
    String basis = "prepare = the pre-reboot tasks' timeouts; shutdown = min(per-DPU budget "
        + seconds(perDpu) + ", ack-deadline " + seconds(settings.ackDeadline().toMillis())
        + "); deferrals = defer.max-total (0 with --force" + (gnoi ? "; DPUs spoken to over gNOI cannot defer: gNOI has no deferral" : "")
        + "); protective = protective.max-wait, then " + n.protectiveAtCap()
        + "; escalation = escalation.command-timeout; reboot = " + (settings.dryRun() ? "dry run" : "reboot.timeout")
        + " + reboot.return-after; post-reboot = the longest boot-wait";
    List<String> blockers = new java.util.ArrayList<>();
    if (s.current() != null) {
      blockers.add("campaign " + s.current().id() + " is in progress (phase " + s.phase().display() + ")");
    }
    modules.modules().values().stream().filter(m -> m.transition() != null).forEach(m -> blockers.add(
        m.dpuId() + " is in a module " + m.transition().kind() + " (" + m.transition().id() + ", " + m.transition().phase() + ")"));
    notices.notices().values().forEach(notice -> blockers.add(notice.dpuId() + " is rebooting on its own (" + notice.describe() + ")"));
    long total = prepare + shutdown + deferral + protective + escalation + reboot + post;
    return new PlanView(dpus, leftOut, new WorstCase(prepare, shutdown, deferral, protective, escalation, reboot, post, total, basis),
        List.copyOf(blockers));
  }

  /** Seconds as every figure of the plan prints them: one decimal. */
  static String seconds(long millis) {
    return String.format(java.util.Locale.ROOT, "%.1f s", millis / 1000.0);
  }

}
