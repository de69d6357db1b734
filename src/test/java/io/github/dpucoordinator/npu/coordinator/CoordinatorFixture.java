package io.github.dpucoordinator.npu.coordinator;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.TestClock;
import io.github.dpucoordinator.npu.chassis.Chassis;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.CampaignStarted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.PreRebootTasksDone;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalsDispatched;
import io.github.dpucoordinator.npu.host.HostActions;
import io.github.dpucoordinator.npu.journal.Histories;
import io.github.dpucoordinator.npu.journal.HistoryEntry;
import io.github.dpucoordinator.npu.module.ModuleBook;
import io.github.dpucoordinator.npu.module.ModuleEntity;
import io.github.dpucoordinator.npu.module.ModuleEvent;
import io.github.dpucoordinator.npu.notice.Notice;
import io.github.dpucoordinator.npu.notice.NoticeBook;
import io.github.dpucoordinator.npu.notice.NoticeEntity;
import io.github.dpucoordinator.npu.notice.NoticeEvent;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.npu.settings.NegotiationSettings;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import io.github.dpucoordinator.npu.settings.RetrySettings;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.npu.transport.ProbeTransport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit;

/**
 * The NPU's chassis under test (its three entities and DPU actors), with persistence pids of its own ({@code pid} for
 * campaigns, {@code pid-modules}, {@code pid-notices}), clock, transport and host (ManualTime moves its timers).
 */
public class CoordinatorFixture {
  static final Duration ACK_DEADLINE = Duration.ofSeconds(30);

  /** A test kit whose scheduler is ManualTime, with the in-memory persistence test kit. */
  public static ActorTestKit testKit() {
    return ActorTestKit.create(ManualTime.config().withFallback(EventSourcedBehaviorTestKit.config())
        .withFallback(com.typesafe.config.ConfigFactory.load()));
  }
  final ManualTime manualTime;
  final String pid;
  final TestClock clock = new TestClock();
  final ProbeTransport transport;
  final RecordingHost host;
  final ActorTestKit kit;
  final NpuSettings settings;
  final Chassis.PersistenceIds pids;
  final PersistenceTestKit journal;
  final SnapshotTestKit snapshots;
  ActorRef<NpuProtocol.Command> chassis;

  /** The reboot section of the fixtures: a dry run that settles at once and runs an interrupted action again. */
  public static final NpuSettings.Reboot REBOOT = new NpuSettings.Reboot("", Duration.ofSeconds(10), Duration.ZERO, true);

  CoordinatorFixture(ActorTestKit kit, ManualTime manualTime, String pid, int dpus, boolean rebootHangs,
      Map<String, NpuSettings.DpuPolicy> policies, NegotiationSettings negotiation) {
    this(kit, manualTime, pid, dpus, rebootHangs, policies, negotiation, REBOOT, 1000);
  }

  /** {@code snapshotEvery}: a snapshot every that many events (1000: none in a test). */
  CoordinatorFixture(ActorTestKit kit, ManualTime manualTime, String pid, int dpus, boolean rebootHangs,
      Map<String, NpuSettings.DpuPolicy> policies, NegotiationSettings negotiation, NpuSettings.Reboot reboot, int snapshotEvery) {
    this.manualTime = manualTime;
    this.pid = pid;
    this.kit = kit;
    this.transport = new ProbeTransport(kit.createTestProbe());
    host = new RecordingHost(rebootHangs);
    settings = settings(dpus, policies, negotiation, reboot, snapshotEvery);
    pids = Chassis.PersistenceIds.of(pid);
    journal = PersistenceTestKit.create(kit.system());
    snapshots = SnapshotTestKit.create(kit.system());
    chassis = kit.spawn(Chassis.create(pids, settings, transport, host, clock));
  }

  /** The NPU service restarts: the chassis and everything under it stop, and a new one recovers from the journal. */
  void restart() {
    kit.stop(chassis, Duration.ofSeconds(10));
    chassis = kit.spawn(Chassis.create(pids, settings, transport, host, clock));
  }

  /** The service is down for {@code down} (its timers do not run), then recovers from the journal. */
  void restartAfter(Duration down) {
    kit.stop(chassis, Duration.ofSeconds(10));
    clock.advance(down);
    manualTime.timePasses(down);
    chassis = kit.spawn(Chassis.create(pids, settings, transport, host, clock));
  }

  /** Asks the chassis, as an API would, and waits (real time, bounded) for the answer. */
  <R> R ask(Function<ActorRef<R>, NpuProtocol.Command> request) {
    TestProbe<R> probe = kit.createTestProbe();
    chassis.tell(request.apply(probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(10));
  }

  /** The three entities of the chassis now. */
  Chassis.Parts parts() {
    return ask(Chassis.GetParts::new);
  }

  /** A message straight to the campaign entity (what a DPU actor would report). */
  void toCampaigns(NpuProtocol.Command message) {
    parts().campaigns().tell(message);
  }

  /** The settings of the fixtures: {@code dpus} DPUs on the seed's protocol, DPU0 at 127.0.0.1:50051, DPU1 on 50052, ... */
  public static NpuSettings settings(int dpus, Map<String, NpuSettings.DpuPolicy> policies, NegotiationSettings negotiation,
      NpuSettings.Reboot reboot, int snapshotEvery) {
    List<DpuEndpoint> endpoints = IntStream.range(0, dpus).mapToObj(i -> new DpuEndpoint("DPU" + i, "127.0.0.1", 50051 + i)).toList();
    return new NpuSettings(endpoints, Path.of("unused"), new NpuSettings.Admin("127.0.0.1", 0, Duration.ofSeconds(10)),
        new RetrySettings(Duration.ofSeconds(1), 3, Duration.ofSeconds(1), Duration.ofSeconds(10), 2.0, 0.0),
        // ack deadline, halt timeout, state wait, watch retry, boot wait, pre-reboot tasks, restart halted DPUs on cancel
        new NpuSettings.Campaigns(ACK_DEADLINE, Duration.ofSeconds(60), Duration.ofSeconds(10), Duration.ofSeconds(1),
            Duration.ofSeconds(60), List.of(), true),
        reboot, new NpuSettings.Retention(10, 10, snapshotEvery), new NpuSettings.Fleet(DpuEndpoint.REBOOT_SERVICE, policies),
        new NpuSettings.GnoiSettings("HALT", Duration.ofSeconds(1)),
        new NpuSettings.ModuleSettings("", "", Duration.ofSeconds(10), Duration.ofSeconds(20)),
        new NpuSettings.GatewaySettings(false, "", "", "0600", 16384, Duration.ofSeconds(1), Duration.ofSeconds(60)),
        negotiation);
  }

  String start() {
    NpuProtocol.StartReply reply = ask(r -> new NpuProtocol.StartCampaign("test", CampaignKind.COLD, r));
    assertTrue(reply.accepted(), reply.message());
    return reply.campaignId();
  }

  NpuProtocol.StartReply module(String dpu, String kind, boolean force) {
    return ask(r -> new NpuProtocol.ModuleCommand(dpu, ModuleKind.of(kind), "replace a fan", force, r));
  }

  NpuProtocol.StartReply module(String dpu, String kind) {
    return ask(r -> new NpuProtocol.ModuleCommand(dpu, ModuleKind.of(kind), "replace a fan", r));
  }

  void advance(Duration d) {
    clock.advance(d);
    manualTime.timePasses(d);
  }

  void expectNoCallFor(Duration d) {
    clock.advance(d);
    manualTime.expectNoMessageFor(d, transport.calls);
  }

  /** The next event of the entity that journals {@code type}. */
  <E> E expect(Class<E> type) {
    return journal.expectNextPersistedClass(pidOf(type), type);
  }

  String pidOf(Class<?> type) {
    return ModuleEvent.class.isAssignableFrom(type) ? pids.modules() : NoticeEvent.class.isAssignableFrom(type) ? pids.notices() : pid;
  }

  /** The next n events of the campaign entity, whatever their order among themselves. */
  List<Object> expectAnyOrder(int n) {
    return journal.receivePersisted(pid, n, Object.class);
  }

  void expectPreamble() {
    expect(CampaignStarted.class);
    expect(PreRebootTasksDone.class);
    expect(SignalsDispatched.class);
  }

  /** The three entities' states, each read after every message sent to it so far. */
  State state() {
    Chassis.Parts parts = parts();
    TestProbe<Coordinator.Campaigns> c = kit.createTestProbe();
    TestProbe<ModuleEntity.Book> m = kit.createTestProbe();
    TestProbe<NoticeEntity.Book> n = kit.createTestProbe();
    parts.campaigns().tell(new Coordinator.GetCampaigns(c.ref()));
    parts.modules().tell(new ModuleEntity.GetBook(m.ref()));
    parts.notices().tell(new NoticeEntity.GetBook(n.ref()));
    return new State(c.receiveMessage(Duration.ofSeconds(10)).state(), m.receiveMessage(Duration.ofSeconds(10)).book(),
        n.receiveMessage(Duration.ofSeconds(10)).book(), settings.historyPerDpu());
  }

  /** What the tests read of the three states, as one. */
  record State(CoordinatorState campaigns, ModuleBook modules, NoticeBook noticeBook, int historyPerDpu) {
    Phase phase() {
      return campaigns.phase();
    }

    Campaign current() {
      return campaigns.current();
    }

    Campaign last() {
      return campaigns.last();
    }

    Map<String, Notice> notices() {
      return noticeBook.notices();
    }

    boolean down(String dpuId) {
      return modules.down(dpuId);
    }

    Map<String, List<HistoryEntry>> history() {
      return Histories.merged(historyPerDpu, campaigns.history(), modules.history(), noticeBook.history());
    }
  }

  /**
   * Nothing was journaled that the test has not taken yet, as of now: the coordinator has handled every message sent
   * to it so far (timers that ManualTime fired included), because its state is read only after any write it started.
   * No real-time window is waited for.
   */
  void expectNothingNew() {
    state();
    for (String id : List.of(pids.campaigns(), pids.modules(), pids.notices())) {
      journal.expectNothingPersisted(id, Duration.ofMillis(1));
    }
  }

  /**
   * The same where what would be journaled comes from a link (its own timer fired, its report on the way): the link's
   * mailbox cannot be synchronised with from here, so its report is also given {@code linkLatency} of real time.
   */
  void expectNothingNewFromLinks(Duration linkLatency) {
    state();
    for (String id : List.of(pids.campaigns(), pids.modules(), pids.notices())) {
      journal.expectNothingPersisted(id, linkLatency);
    }
  }

  /**
   * A recording host: counts reboots and power actions; its reboot and power actions can be made to hang. Its boot
   * id is {@code bootId} ("boot-1" until a test changes it), and {@code returnedWhileDown} is what the return file of
   * a reboot action says (null: no such file).
   */
  static final class RecordingHost implements HostActions {
    final AtomicInteger reboots = new AtomicInteger();
    final List<String> powerOffs = java.util.Collections.synchronizedList(new ArrayList<>());
    final List<String> powerOns = java.util.Collections.synchronizedList(new ArrayList<>());
    final List<String> forced = java.util.Collections.synchronizedList(new ArrayList<>());
    final List<String> kinds = java.util.Collections.synchronizedList(new ArrayList<>());
    final List<String> hookCalls = java.util.Collections.synchronizedList(new ArrayList<>());
    /** What the pre-DPU-reboot hooks report, round after round (the last one repeats). */
    final java.util.Deque<List<StepResult>> hookResults = new java.util.concurrent.ConcurrentLinkedDeque<>();
    volatile boolean rebootHangs;
    volatile boolean powerHangs;
    volatile String bootId = "boot-1";
    volatile StepResult returnedWhileDown;

    RecordingHost(boolean rebootHangs) {
      this.rebootHangs = rebootHangs;
    }

    @Override
    public CompletionStage<StepResult> powerOff(String transitionId, String dpuId) {
      powerOffs.add(dpuId);
      return powerHangs ? new CompletableFuture<>() : CompletableFuture.completedFuture(new StepResult("power-off", true, "", 0));
    }

    @Override
    public CompletionStage<StepResult> powerOn(String transitionId, String dpuId) {
      powerOns.add(dpuId);
      return powerHangs ? new CompletableFuture<>() : CompletableFuture.completedFuture(new StepResult("power-on", true, "", 0));
    }

    @Override
    public CompletionStage<StepResult> force(String campaignId, String dpuId) {
      forced.add(dpuId);
      return CompletableFuture.completedFuture(new StepResult("force", true, "test", 0));
    }

    @Override
    public CompletionStage<List<StepResult>> dpuRebootHooks(String noticeId, String dpuId) {
      hookCalls.add(dpuId);
      List<StepResult> results = hookResults.size() > 1 ? hookResults.poll() : hookResults.peek();
      return CompletableFuture.completedFuture(results == null ? List.of() : results);
    }

    @Override
    public CompletionStage<List<StepResult>> prepare(String campaignId) {
      return CompletableFuture.completedFuture(List.of());
    }

    @Override
    public CompletionStage<StepResult> reboot(String campaignId, String kind) {
      reboots.incrementAndGet();
      kinds.add(kind);
      return rebootHangs ? new CompletableFuture<>() : CompletableFuture.completedFuture(new StepResult("reboot", true, "test", 0));
    }

    @Override
    public String describeReboot() {
      return "test reboot";
    }

    @Override
    public String bootId() {
      return bootId;
    }

    @Override
    public java.util.Optional<StepResult> rebootReturnedWhileDown(String campaignId) {
      return java.util.Optional.ofNullable(returnedWhileDown);
    }
  }

  /**
   * Test negotiation settings: postpone 60 s at a time up to 5 min, deferrals up to 2 min, protective
   * states held up to 10 min then proceed, force actions from the recording host, no watcher.
   */
  public static NegotiationSettings negotiation() {
    return new NegotiationSettings("npu", "127.0.0.1", 0, List.of(), 75, Duration.ofSeconds(60), Duration.ofMinutes(5),
        Duration.ofSeconds(20), Duration.ofMinutes(2), Duration.ofMinutes(10), "proceed", Duration.ofSeconds(5), "",
        Duration.ofSeconds(10), Map.of(), false, Duration.ofSeconds(5), 2, "", "");
  }

}
