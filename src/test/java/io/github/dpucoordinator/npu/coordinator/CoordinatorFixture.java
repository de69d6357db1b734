package io.github.dpucoordinator.npu.coordinator;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.common.StepResult;
import io.github.dpucoordinator.common.TestClock;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.CampaignStarted;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.PreRebootTasksDone;
import io.github.dpucoordinator.npu.coordinator.CampaignEvent.SignalsDispatched;
import io.github.dpucoordinator.npu.host.HostActions;
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
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;

/** One coordinator under test, with its own persistence id, clock, transport and host (ManualTime moves its timers). */
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
  final EventSourcedBehaviorTestKit<Coordinator.Command, CampaignEvent, CoordinatorState> es;
  final PersistenceTestKit journal;

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
    this.transport = new ProbeTransport(kit.createTestProbe());
    host = new RecordingHost(rebootHangs);
    es = EventSourcedBehaviorTestKit.create(kit.system(),
        Coordinator.create(pid, settings(dpus, policies, negotiation, reboot, snapshotEvery), transport, host, clock),
        EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyCommands(false).withVerifyEquality(false));
    journal = es.persistenceTestKit();
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
    Coordinator.StartReply reply = es.<Coordinator.StartReply>runCommand(r -> new Coordinator.StartCampaign("test", "cold", r)).reply();
    assertTrue(reply.accepted(), reply.message());
    return reply.campaignId();
  }

  Coordinator.StartReply module(String dpu, String kind, boolean force) {
    return es.<Coordinator.StartReply>runCommand(r -> new Coordinator.ModuleCommand(dpu, kind, "replace a fan", force, r)).reply();
  }

  Coordinator.StartReply module(String dpu, String kind) {
    return es.<Coordinator.StartReply>runCommand(r -> new Coordinator.ModuleCommand(dpu, kind, "replace a fan", r)).reply();
  }

  void advance(Duration d) {
    clock.advance(d);
    manualTime.timePasses(d);
  }

  void expectNoCallFor(Duration d) {
    clock.advance(d);
    manualTime.expectNoMessageFor(d, transport.calls);
  }

  <E> E expect(Class<E> type) {
    return journal.expectNextPersistedClass(pid, type);
  }

  /** The next n events, whatever their order among themselves. */
  List<Object> expectAnyOrder(int n) {
    return journal.receivePersisted(pid, n, Object.class);
  }

  void expectPreamble() {
    expect(CampaignStarted.class);
    expect(PreRebootTasksDone.class);
    expect(SignalsDispatched.class);
  }

  CoordinatorState state() {
    return es.getState();
  }

  /**
   * Nothing was journaled that the test has not taken yet, as of now: the coordinator has handled every message sent
   * to it so far (timers that ManualTime fired included), because its state is read only after any write it started.
   * No real-time window is waited for.
   */
  void expectNothingNew() {
    state();
    journal.expectNothingPersisted(pid, Duration.ofMillis(1));
  }

  /**
   * The same where what would be journaled comes from a link (its own timer fired, its report on the way): the link's
   * mailbox cannot be synchronised with from here, so its report is also given {@code linkLatency} of real time.
   */
  void expectNothingNewFromLinks(Duration linkLatency) {
    state();
    journal.expectNothingPersisted(pid, linkLatency);
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
