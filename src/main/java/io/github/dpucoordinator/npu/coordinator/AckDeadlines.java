package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.Ids;
import io.github.dpucoordinator.npu.journal.JournalEvent;
import io.github.dpucoordinator.npu.journal.JournalWrites;
import io.github.dpucoordinator.npu.protocol.NpuProtocol.Command;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * The campaign's acknowledgment deadline: reports already queued count; a deferral may have moved it; DPUs in a
 * protective state hold the campaign once, up to {@code protective.max-wait}, and at that cap the campaign proceeds or
 * aborts; every other unfinished DPU is recorded with why.
 */
final class AckDeadlines {
  record Reached(String campaignId) implements Command {}

  private final ActorContext<Command> ctx;
  private final NpuSettings settings;
  private final Clock clock;
  private final JournalWrites<JournalEvent, CampaignState> journal;
  private final CampaignLinks links;
  private final CampaignEnd end;
  private final Phases phases;

  AckDeadlines(ActorContext<Command> ctx, NpuSettings settings, Clock clock, JournalWrites<JournalEvent, CampaignState> journal,
      CampaignLinks links, CampaignEnd end, Phases phases) {
    this.ctx = ctx;
    this.settings = settings;
    this.clock = clock;
    this.journal = journal;
    this.links = links;
    this.end = end;
    this.phases = phases;
  }

  /** The {@link AckCollector} of the campaign in WaitForAcknowledgments (null in other phases), and how many were started. */
  private ActorRef<AckCollector.Msg> collector;
  private String collecting = "";
  private int collectors;

  /** The collector watched by the entity stopped: {@code ref} is the one that did. */
  record CollectorStopped(String campaignId, ActorRef<AckCollector.Msg> ref) implements Command {}

  /**
   * Campaign {@code c} waits for its DPUs until {@code deadlineMillis}: its collector (started if it has none) hears
   * which DPUs are unresolved and the deadline.
   */
  void arm(Campaign c, long deadlineMillis) {
    AckCollector.Progress progress = new AckCollector.Progress(unresolved(c), deadlineMillis);
    if (collector != null && collecting.equals(c.id())) {
      collector.tell(progress);
      return;
    }
    cancel();
    collector = ctx.spawn(AckCollector.create(c.id(), progress, clock, ctx.getSelf()), "acks-" + Ids.safe(c.id()) + "-" + (++collectors));
    collecting = c.id();
    ctx.watchWith(collector, new CollectorStopped(c.id(), collector));
  }

  /**
   * Recovered (at start, or after a restart of the entity's behavior, which stops its children): no collector runs
   * yet; entering the phase starts one.
   */
  void recovered() {
    collector = null;
    collecting = "";
    recoveredAt = clock.millis();
    lookedFor = "";
  }

  /** When the entity last recovered; a verdict within {@link #lookAfterRecovery} of it waits for one look at the DPUs. */
  private long recoveredAt;
  private String lookedFor = "";

  /** Time for the DPU actors, engaged again after a recovery, to ask their DPUs once: the rpc timeout, at most 2 s. */
  private long lookAfterRecovery() {
    return Math.min(settings.signal().rpcTimeout().toMillis(), 2_000);
  }

  /** After each write in WaitForAcknowledgments: the collector hears what is still unresolved. */
  void progress(Campaign c) {
    if (collector != null && collecting.equals(c.id())) {
      long deadline = lookedFor.equals(c.id()) ? Math.max(c.ackDeadline(), recoveredAt + lookAfterRecovery()) : c.ackDeadline();
      collector.tell(new AckCollector.Progress(unresolved(c), deadline));
    }
  }

  /** The phase is over: no more collecting. */
  void cancel() {
    if (collector != null) {
      ctx.unwatch(collector);
      ctx.stop(collector);
      collector = null;
      collecting = "";
    }
  }

  /** A collector stopped that was not told to: while the campaign still waits, another starts from the journal. */
  ReplyEffect<JournalEvent, CampaignState> onStopped(CampaignState s, CollectorStopped stopped) {
    if (stopped.ref().equals(collector)) {
      collector = null;
      collecting = "";
      if (s.isCurrent(stopped.campaignId()) && s.phase() == Phase.WAIT_FOR_ACKNOWLEDGMENTS) {
        ctx.getLog().warn("[campaign={} dpu=all] the acknowledgment collector stopped; starting another", stopped.campaignId());
        arm(s.current(), s.current().ackDeadline());
      }
    }
    return journal.none().thenNoReply();
  }

  /** Every DPU completed or failed, as the collector counts: the phase ends, on the journaled state. */
  ReplyEffect<JournalEvent, CampaignState> onAllIn(CampaignState s, AckCollector.AllIn a) {
    Campaign c = s.current();
    if (!s.isCurrent(a.campaignId()) || !c.allResolved()) {
      return journal.none().thenNoReply();
    }
    long now = clock.millis();
    return phases.persistThenEnter(List.of(c.allCompleted()
        ? new CampaignEvent.AcknowledgmentsCollected(c.id(), now)
        : new CampaignEvent.AcknowledgmentsMissing(c.id(), CampaignLinks.failures(c), false, now))).thenNoReply();
  }

  private static Set<String> unresolved(Campaign c) {
    return c.dpus().values().stream().filter(d -> !d.resolved()).map(DpuProgress::id).collect(Collectors.toUnmodifiableSet());
  }

  ReplyEffect<JournalEvent, CampaignState> onDeadline(CampaignState s, Reached d) {
    if (!s.isCurrent(d.campaignId())) {
      return journal.none().thenNoReply();
    }
    // Reports already queued count: they arrived before the deadline was handled.
    List<CampaignEvent> events = links.drain(s);
    CampaignState latest = s.applyAll(events, settings.historyPerDpu(), settings.recentCampaigns());
    Campaign c = latest.current();
    long now = clock.millis();
    if (c.ackDeadline() > now) {
      // A deferral moved the deadline while this timer was on its way.
      arm(c, c.ackDeadline());
      return phases.persistThenAdvance(events).thenNoReply();
    }
    if (c.ackDeadline() <= recoveredAt && now < recoveredAt + lookAfterRecovery() && !lookedFor.equals(c.id()) && !unresolved(c).isEmpty()) {
      // The deadline passed while the entity was down or could not write (a restart, a journal outage): what its DPUs
      // did meanwhile has not been seen yet. One look first, so that a DPU that completed is not recorded as failed.
      lookedFor = c.id();
      ctx.getLog().info("[campaign={} dpu=all] ack deadline passed before this recovery; a last look at {} DPU(s) until {}", c.id(),
          unresolved(c).size(), Instant.ofEpochMilli(recoveredAt + lookAfterRecovery()));
      arm(c, recoveredAt + lookAfterRecovery());
      return phases.persistThenAdvance(events).thenNoReply();
    }
    Map<String, String> protective = new LinkedHashMap<>();
    c.dpus().values().stream().filter(p -> !p.resolved() && p.isProtective()).forEach(p -> protective.put(p.id(), p.protective()));
    if (!protective.isEmpty() && !c.protectiveHold() && settings.negotiation().protectiveMaxWait().toMillis() > 0) {
      return holdForProtective(events, c, protective, now).thenNoReply();
    }
    Map<String, String> missing = new LinkedHashMap<>(CampaignLinks.failures(c));
    for (DpuProgress dpu : c.dpus().values()) {
      if (!dpu.resolved()) {
        missing.put(dpu.id(), protective.containsKey(dpu.id())
            ? "still in protective state " + dpu.protective() + " at the cap (dpu-coordinator.npu.protective.max-wait "
                + settings.negotiation().protectiveMaxWait().toSeconds() + " s); policy: " + settings.negotiation().protectiveAtCap()
            : links.unfinishedReason(dpu));
      }
    }
    if (!protective.isEmpty()) {
      events.add(new CampaignEvent.ProtectiveCapReached(c.id(), protective, settings.negotiation().protectiveAtCap(), now));
      if (settings.negotiation().abortAtProtectiveCap()) {
        ctx.getLog().error("[campaign={} dpu={}] still in a protective state at the cap ({}); ABORTING the campaign "
            + "(dpu-coordinator.npu.protective.at-cap = abort): nothing is rebooted", c.id(), String.join(",", protective.keySet()), protective);
        return end.endEarly(events, c, "aborted: DPU(s) " + String.join(", ", protective.keySet()) + " still in a protective state at the cap",
            true, null);
      }
      ctx.getLog().error("[campaign={} dpu={}] still in a protective state at the cap ({}); PROCEEDING with the reboot anyway "
          + "(dpu-coordinator.npu.protective.at-cap = proceed)", c.id(), String.join(",", protective.keySet()), protective);
    }
    events.add(new CampaignEvent.AcknowledgmentsMissing(d.campaignId(), missing, true, now));
    return phases.persistThenEnter(events).thenNoReply();
  }

  /**
   * The deadline passed with DPUs in a protective state: those that are not protective and unfinished are
   * given up on now; the protective ones are waited for until protective.max-wait, touching nothing.
   */
  private EffectBuilder<JournalEvent, CampaignState> holdForProtective(List<CampaignEvent> events, Campaign c, Map<String, String> protective,
      long now) {
    long holdUntil = now + settings.negotiation().protectiveMaxWait().toMillis();
    for (DpuProgress dpu : c.dpus().values()) {
      if (!dpu.resolved() && !protective.containsKey(dpu.id())) {
        events.add(new CampaignEvent.DpuGaveUp(c.id(), dpu.id(), links.unfinishedReason(dpu), now));
      }
    }
    events.add(new CampaignEvent.ProtectiveHold(c.id(), protective, holdUntil, now));
    return journal.persist(events).thenRun(next -> {
      ctx.getLog().warn("[campaign={} dpu={}] in a protective state at the ack deadline ({}); holding the campaign until {} "
          + "(dpu-coordinator.npu.protective.max-wait), nothing is powered off or reset meanwhile", c.id(),
          String.join(",", protective.keySet()), protective, Instant.ofEpochMilli(holdUntil));
      next.current().dpus().values().stream().filter(p -> p.status() == DpuStatus.FAILED)
          .forEach(p -> links.stopSignalling(p.id()));
      arm(next.current(), holdUntil);
      phases.advance();
    });
  }
}
