package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.machine.DpuAgent;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.proto.admin.CancelCampaignRequest;
import io.github.dpucoordinator.proto.admin.ModuleRequest;
import io.github.dpucoordinator.proto.admin.NpuAdminClient;
import io.github.dpucoordinator.proto.admin.StartCampaignRequest;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import io.github.dpucoordinator.proto.agentctl.SetHoldRequest;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Status;
import java.io.BufferedReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input at every door, seeded ({@code -Ddpuctl.fuzz.seed}) and bounded ({@code -Ddpuctl.fuzz.inputs}, 10,000 per door
 * by default; each call has a deadline): the NPU service (a process of its own, its heap capped at 256 MiB so a leak
 * ends it) takes random and mutated messages on its admin API, its DPU-facing notice API and Containerz (streams cut at
 * random, messages in any order, chunks above the size limit), and junk in its request pipe (random bytes, lines of
 * 1 MiB, invalid UTF-8, half-written JSON, a writer that never closes); the agents take the same on RebootService,
 * gNOI System and their control API. Then: the service is alive, its memory stayed bounded (printed), and valid
 * requests at every door still work.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InputFuzzTest {
  private static final int INPUTS = Integer.getInteger("dpuctl.fuzz.inputs", 10_000);
  private static final long SEED = Long.getLong("dpuctl.fuzz.seed", 20261205L);
  private static final int IN_FLIGHT = 16;
  private static final long DEADLINE_MS = 2_000;
  private static final List<String> ADMIN = List.of("dpucoordinator.admin.NpuAdmin/StartCampaign", "dpucoordinator.admin.NpuAdmin/Status",
      "dpucoordinator.admin.NpuAdmin/CancelCampaign", "dpucoordinator.admin.NpuAdmin/Plan", "dpucoordinator.admin.NpuAdmin/ModuleShutdown",
      "dpucoordinator.admin.NpuAdmin/ModuleStartup", "dpucoordinator.admin.NpuAdmin/NoSuchMethod");
  private static final List<String> NOTICES = List.of("dpucoordinator.notice.DpuRebootNotices/NotifyReboot",
      "dpucoordinator.notice.DpuRebootNotices/RebootGoing", "dpucoordinator.notice.DpuRebootNotices/RebootPostponed");
  private static final List<String> CONTAINERZ_UNARY = List.of("RemoveImage", "RemoveContainer", "StartContainer", "StopContainer",
      "UpdateContainer", "CreateVolume", "RemoveVolume", "StartPlugin", "StopPlugin", "ListPlugins", "RemovePlugin", "RemovePluginTar");
  private static final List<String> CONTAINERZ_STREAMS = List.of("ListImage", "ListContainer", "Log", "ListVolume");
  private static final List<String> AGENT = List.of("reboot.RebootService/SendRebootSignal", "reboot.RebootService/GetState",
      "gnoi.system.System/Reboot", "gnoi.system.System/RebootStatus", "gnoi.system.System/CancelReboot", "gnoi.system.System/Time",
      "dpucoordinator.agentctl.DpuAgentControl/RequestReboot", "dpucoordinator.agentctl.DpuAgentControl/GetRebootNotice",
      "dpucoordinator.agentctl.DpuAgentControl/PostponeReboot", "dpucoordinator.agentctl.DpuAgentControl/SetHold");

  private final ActorTestKit kit = ActorTestKit.create("fuzz", io.github.dpucoordinator.common.AppConfig.load());
  private final Random random = new Random(SEED);
  private final Junk junk = new Junk(random);

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void tenThousandBadInputsAtEachDoorLeaveTheServiceUpBoundedAndAnsweringValidRequests(@TempDir Path dir) throws Exception {
    List<AgentServer.Running> agents = new ArrayList<>(Harness.startAgents(kit.system(), "R", 1, 50, Optional.of(Duration.ofMillis(100))));
    agents.addAll(Harness.startAgents(kit.system(), "G", 1, 50, Optional.of(Duration.ofMillis(100))));
    List<DpuEndpoint> dpus = List.of(new DpuEndpoint("R0", "127.0.0.1", agents.get(0).port(), DpuEndpoint.REBOOT_SERVICE),
        new DpuEndpoint("G0", "127.0.0.1", agents.get(1).port(), DpuEndpoint.GNOI));
    Path data = dir.resolve("data");
    Path output = dir.resolve("npu.out");
    int adminPort = Harness.freePort();
    int dpuApiPort = Harness.freePort();
    Process npu = NpuProcess.start(data, adminPort, dpus, NpuProcess.recordingRebootCommand(dir.resolve("reboots.log")), output,
        List.of("-Xmx256m"), Map.of("DPUCOORD_DPU_API_PORT", String.valueOf(dpuApiPort), "DPUCOORD_BOOT_WAIT", "10s",
            "DPUCOORD_HALT_TIMEOUT", "3s"));
    TestProbe<Object> probe = kit.createTestProbe();
    NpuAdminClient admin = Harness.admin(kit.system(), adminPort);
    try (RawGrpc adminDoor = new RawGrpc(adminPort); RawGrpc dpuApi = new RawGrpc(dpuApiPort); RawGrpc r0 = new RawGrpc(agents.get(0).port());
        RawGrpc g0 = new RawGrpc(agents.get(1).port())) {
      await(probe, admin, output, s -> s.path("phase").asText().equals("Idle"));
      Path requestPipe = data.resolve("run").resolve("gnoi_reboot.pipe");
      BlockingQueue<String> responses = drain(data.resolve("run").resolve("gnoi_reboot_response.pipe"));
      long baseline = rssKib(npu);
      Map<String, Map<Status.Code, Integer>> seen = new TreeMap<>();
      List<Long> rss = new ArrayList<>();

      // at most IN_FLIGHT calls at a time per door, so that calls which wait (a long poll, a stream left open) until their
      // deadline do not make the run as long as their sum
      Semaphore inFlight = new Semaphore(IN_FLIGHT * 4);
      OutputStream writer = null;
      long fuzzStart = System.nanoTime();
      for (int i = 0; i < INPUTS; i++) {
        send(inFlight, seen, "admin", () -> unary(adminDoor, ADMIN));
        send(inFlight, seen, "notice", () -> unary(dpuApi, NOTICES));
        send(inFlight, seen, "containerz", () -> containerz(dpuApi));
        RawGrpc agent = i % 2 == 0 ? r0 : g0;
        send(inFlight, seen, "agent", () -> unary(agent, AGENT));
        if (i % 50 == 0) { // a writer now and then closes and another opens; most keep writing
          if (writer != null) {
            writer.close();
          }
          writer = Files.newOutputStream(requestPipe, StandardOpenOption.WRITE);
        }
        writer.write(junk.pipeInput());
        if (i % 1000 == 999) {
          assertTrue(npu.isAlive(), "the service died after " + (i + 1) + " inputs per door:\n" + Harness.read(output));
          rss.add(rssKib(npu));
        }
      }
      writer.close();
      assertTrue(inFlight.tryAcquire(IN_FLIGHT * 4, 60, TimeUnit.SECONDS), "every call ended");
      System.err.printf("fuzz: %d inputs per door in %d s%n", INPUTS, (System.nanoTime() - fuzzStart) / 1_000_000_000L);
      // a writer that never closes: the gateway must still take the next writer's request
      try (OutputStream stuck = Files.newOutputStream(requestPipe, StandardOpenOption.WRITE)) {
        stuck.write("{\"dpu_id\": \"R0\", \"meth".getBytes(StandardCharsets.UTF_8));
        stuck.flush();
        System.err.printf("fuzz: seed %d, %d inputs per door; statuses %s; NPU RSS %d KiB before, every 1,000 inputs %s KiB%n", SEED,
            INPUTS, seen, baseline, rss);
        assertTrue(npu.isAlive(), Harness.read(output));
        long peak = rss.stream().mapToLong(Long::longValue).max().orElse(baseline);
        // heap capped at 256 MiB, Netty's direct buffers allowed as much again, plus code, classes and threads (measured ~460 MB)
        assertTrue(peak < 640 * 1024, "RSS stayed below 640 MiB: " + rss);
        seen.forEach((door, codes) -> assertTrue(codes.values().stream().mapToInt(Integer::intValue).sum() >= INPUTS, door + ": " + codes));
        // every door answers with a code of its own: none fails as INTERNAL or UNKNOWN (an over-long description did)
        seen.forEach((door, codes) -> assertTrue(!codes.containsKey(Status.Code.INTERNAL) && !codes.containsKey(Status.Code.UNKNOWN),
            door + ": " + codes));

        // valid requests at every door still work, once what the fuzz started (a campaign, holds, halted DPUs) is over
        settle(probe, admin, output, agents);
        responses.clear();
        Files.writeString(requestPipe, "\n{\"dpu_id\": \"G0\", \"method\": \"HALT\", \"reason\": \"after the fuzz\"}\n", StandardOpenOption.WRITE);
        probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(100), () -> {
          assertTrue(responses.stream().anyMatch(r -> r.contains("\"G0\"") && r.contains("SUCCESS")), "pipe responses: " + responses);
          return null;
        });
      }
      settle(probe, admin, output, agents); // the pipe's HALT is over too
      StartCampaignResponse started = admin.startCampaign(StartCampaignRequest.newBuilder().setReason("after the fuzz").build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(started.getAccepted(), started.getMessage());
      JsonNode done = await(probe, admin, output, s -> s.path("lastCampaign").path("id").asText().equals(started.getCampaignId())
          && !s.path("lastCampaign").path("inFlight").asBoolean());
      assertEquals("success", done.path("lastCampaign").path("outcome").asText(), done.path("lastCampaign").toPrettyString());
      assertEquals(Status.Code.OK, dpuApi.call("gnoi.containerz.Containerz/ListContainer", MethodType.SERVER_STREAMING, List.of(new byte[0]),
          false, 10_000).getCode(), "Containerz still lists");
      assertTrue(npu.isAlive());
    } finally {
      npu.destroyForcibly();
      npu.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private void send(Semaphore inFlight, Map<String, Map<Status.Code, Integer>> seen, String door,
      java.util.function.Supplier<CompletableFuture<Status>> call) throws InterruptedException {
    inFlight.acquire();
    call.get().whenComplete((status, failure) -> {
      synchronized (seen) {
        count(seen, door, status != null ? status : Status.fromThrowable(failure));
      }
      inFlight.release();
    });
  }

  private CompletableFuture<Status> unary(RawGrpc door, List<String> methods) {
    return door.start(methods.get(random.nextInt(methods.size())), MethodType.UNARY, List.of(junk.message()), false, DEADLINE_MS);
  }

  /** Deploy with 0-4 messages in any order, cut at random; a server stream; or a unary call. */
  private CompletableFuture<Status> containerz(RawGrpc door) {
    int kind = random.nextInt(3);
    if (kind == 0) {
      List<byte[]> messages = new ArrayList<>();
      for (int n = random.nextInt(5); n > 0; n--) {
        messages.add(junk.message());
      }
      return door.start("gnoi.containerz.Containerz/Deploy", MethodType.BIDI_STREAMING, messages, random.nextInt(3) == 0, DEADLINE_MS);
    }
    List<String> names = kind == 1 ? CONTAINERZ_STREAMS : CONTAINERZ_UNARY;
    return door.start("gnoi.containerz.Containerz/" + names.get(random.nextInt(names.size())),
        kind == 1 ? MethodType.SERVER_STREAMING : MethodType.UNARY, List.of(junk.message()), false, DEADLINE_MS);
  }

  /** After the fuzz: no campaign in flight, no hold on a DPU, each DPU up and administratively up. */
  private void settle(TestProbe<?> probe, NpuAdminClient admin, Path output, List<AgentServer.Running> agents) throws Exception {
    admin.cancelCampaign(CancelCampaignRequest.newBuilder().setReason("fuzz over").build()).toCompletableFuture().get(10, TimeUnit.SECONDS);
    await(probe, admin, output, s -> s.path("phase").asText().equals("Idle"));
    for (AgentServer.Running a : agents) {
      NpuNoticeStub.control(kit.system(), a).setHold(SetHoldRequest.newBuilder().setHold("clear").build()).toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
      a.agent().tell(DpuAgent.SimulatedPowerCycle.INSTANCE);
      admin.moduleStartup(ModuleRequest.newBuilder().setDpuId(a.dpuId()).setReason("fuzz over").setForce(true).build())
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    await(probe, admin, output, s -> {
      for (JsonNode m : s.path("modules")) {
        if (!m.path("transition").isNull() || !m.path("adminState").asText().equals("up")) {
          return false;
        }
      }
      return s.path("dpuReboots").size() == 0 && s.path("phase").asText().equals("Idle");
    });
  }

  private static void count(Map<String, Map<Status.Code, Integer>> seen, String door, Status status) {
    int n = seen.computeIfAbsent(door, d -> new TreeMap<>()).merge(status.getCode(), 1, Integer::sum);
    if ((status.getCode() == Status.Code.INTERNAL || status.getCode() == Status.Code.UNKNOWN) && n <= 5) {
      System.err.printf("fuzz: %s answered %s: %s (%s)%n", door, status.getCode(), status.getDescription(), status.getCause()); // to look at
    }
  }

  private static BlockingQueue<String> drain(Path responsePipe) {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread t = new Thread(() -> {
      try (BufferedReader r = Files.newBufferedReader(responsePipe, StandardCharsets.UTF_8)) {
        for (String l; (l = r.readLine()) != null; ) {
          if (lines.size() > 10_000) {
            lines.clear(); // bounded: only the latest matter
          }
          lines.add(l);
        }
      } catch (Exception e) {
        // the FIFO went away with the service
      }
    }, "fuzz-response-reader");
    t.setDaemon(true);
    t.start();
    return lines;
  }

  private static long rssKib(Process p) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + p.pid() + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }

  private JsonNode await(TestProbe<?> probe, NpuAdminClient admin, Path output, java.util.function.Predicate<JsonNode> ok) {
    return Harness.awaitStatus(probe, admin, Duration.ofSeconds(90), ok, () -> Harness.read(output));
  }

}
