package io.github.dpucoordinator.e2e;

import com.typesafe.config.Config;
import gnoi.system.SystemHandlerFactory;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.StepSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;

/**
 * The DPUs of {@link NetworkFaultsTest}, in one JVM that the test starts inside its network namespace, each on its own
 * address. An argument per DPU, {@code ID:KIND:ADDRESS:PORT:SHUTDOWN_MS}: {@code agent} (this project's agent, both
 * protocols, back by itself 500 ms after a halt), {@code delayed} (the same agent on PORT+1 behind a relay on PORT that
 * holds every byte on its way to the agent for 500 ms: the latency tc netem would add, which this kernel lacks), {@code retriable} (a SONiC-like gNOI DPU whose every halt ends in
 * RETRIABLE_FAILURE; it prints "ID halt N" for each) or {@code blackhole} (accepts TCP connections and never says a word, never closes them). Prints
 * {@code LAB READY} once every one listens; runs until killed.
 */
public final class LabDpus {
  private LabDpus() {}

  public static void main(String[] args) throws Exception {
    Config config = AppConfig.load();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "lab-dpus", config);
    List<ServerSocket> holes = new ArrayList<>();
    for (String spec : args) {
      String[] f = spec.split(":");
      String id = f[0];
      String kind = f[1];
      String address = f[2];
      int port = Integer.parseInt(f[3]);
      long shutdownMs = Long.parseLong(f[4]);
      switch (kind) {
        case "agent" -> agent(system, config, id, address, port, shutdownMs);
        case "delayed" -> {
          agent(system, config, id, address, port + 1, shutdownMs);
          holes.add(relay(address, port, port + 1, 500));
        }
        case "retriable" -> Http.get(system).newServerAt(address, port)
            .bind(SystemHandlerFactory.create(new SonicDpuStandIn(shutdownMs, SonicDpuStandIn.Outcome.RETRIABLE_ALWAYS).announcing(id), system))
            .toCompletableFuture().get(30, TimeUnit.SECONDS);
        case "blackhole" -> holes.add(blackhole(address, port));
        default -> throw new IllegalArgumentException("unknown kind " + kind + " in " + spec);
      }
      System.out.println("listening: " + spec);
    }
    System.out.println("LAB READY");
    system.getWhenTerminated().toCompletableFuture().join();
  }

  private static void agent(ActorSystem<Void> system, Config config, String id, String address, int port, long shutdownMs) throws Exception {
    AgentSettings s = AgentSettings.create(AppConfig.with(config, "dpu-coordinator.agent.host", address)).withId(id).withPort(port)
        .withSteps(List.of(StepSpec.simulated("work", Duration.ofMillis(shutdownMs))))
        .withRestartAfter(Optional.of(Duration.ofMillis(500)));
    AgentServer.start(system, s).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** A TCP relay from {@code port} to {@code target} on {@code address} that holds what goes to the target for {@code delayMs}. */
  private static ServerSocket relay(String address, int port, int target, long delayMs) throws IOException {
    ServerSocket server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getByName(address), port));
    daemon("relay-" + port, () -> {
      while (!server.isClosed()) {
        Socket in;
        try {
          in = server.accept();
        } catch (IOException e) {
          return; // closed
        }
        try {
          Socket out = new Socket(address, target);
          in.setTcpNoDelay(true);
          out.setTcpNoDelay(true);
          pump(in, out, delayMs);
          pump(out, in, 0);
        } catch (IOException e) { // the agent refused this one: drop it, keep relaying
          try {
            in.close();
          } catch (IOException ignored) {
            // gone already
          }
        }
      }
    });
    return server;
  }

  /** A chunk read from one side, due on the other at {@code dueNanos}; null bytes: the side closed. */
  private record Chunk(long dueNanos, long seq, byte[] bytes) implements java.util.concurrent.Delayed {
    @Override
    public long getDelay(java.util.concurrent.TimeUnit unit) {
      return unit.convert(dueNanos - System.nanoTime(), java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(java.util.concurrent.Delayed other) {
      Chunk c = (Chunk) other;
      return dueNanos != c.dueNanos ? Long.compare(dueNanos, c.dueNanos) : Long.compare(seq, c.seq); // read order kept
    }
  }

  /** Copies {@code from} to {@code to}, each chunk written {@code delayMs} after it was read (in order: the delay is constant). */
  private static void pump(Socket from, Socket to, long delayMs) {
    java.util.concurrent.DelayQueue<Chunk> chunks = new java.util.concurrent.DelayQueue<>();
    java.util.concurrent.atomic.AtomicLong seq = new java.util.concurrent.atomic.AtomicLong();
    daemon("relay-read", () -> {
      byte[] buf = new byte[65536];
      try (var in = from.getInputStream()) {
        for (int n; (n = in.read(buf)) >= 0; ) {
          chunks.add(new Chunk(System.nanoTime() + delayMs * 1_000_000, seq.incrementAndGet(), java.util.Arrays.copyOf(buf, n)));
        }
      } catch (IOException ignored) {
        // closed
      }
      chunks.add(new Chunk(System.nanoTime() + delayMs * 1_000_000, seq.incrementAndGet(), null));
    });
    daemon("relay-write", () -> {
      try (var out = to.getOutputStream()) {
        for (Chunk c = chunks.take(); c.bytes() != null; c = chunks.take()) { // take() waits until the chunk is due
          out.write(c.bytes());
          out.flush();
        }
      } catch (IOException | InterruptedException ignored) {
        // closed
      } finally {
        try {
          from.close();
          to.close();
        } catch (IOException ignored) {
          // closed already
        }
      }
    });
  }

  private static void daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
  }

  /** Accepts every connection and keeps it open without reading or writing: a peer that hangs. */
  private static ServerSocket blackhole(String address, int port) throws IOException {
    ServerSocket server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getByName(address), port));
    List<Socket> held = new ArrayList<>();
    daemon("blackhole-" + port, () -> {
      while (!server.isClosed()) {
        try {
          held.add(server.accept());
        } catch (IOException e) {
          return;
        }
      }
    });
    return server;
  }
}
