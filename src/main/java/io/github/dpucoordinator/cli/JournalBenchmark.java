package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.npu.notice.NoticeEvent;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * What durability costs per event: one event-sourced actor on the real journal persists events one at a
 * time (each a write the caller waits for, as a coordinator's step does), on the embedded URL with its
 * fsync and on the same URL without it. Prints the median and p99 of a persist as the actor sees it.
 */
final class JournalBenchmark {
  private static final int WARMUP = 100;
  private static final int EVENTS = 1000;

  private JournalBenchmark() {}

  /** Persists one event per command, answering once it is journaled. */
  private static final class Writer extends EventSourcedBehavior<ActorRef<Done>, NoticeEvent, Integer> {
    Writer() {
      super(PersistenceId.ofUniqueId("journal-benchmark"));
    }

    @Override
    public Integer emptyState() {
      return 0;
    }

    @Override
    public CommandHandler<ActorRef<Done>, NoticeEvent, Integer> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().onAnyCommand((state, replyTo) -> Effect()
          .persist(new NoticeEvent.UnplannedEvent("u20261202T120000-abcd", "DPU" + (state % 8), "went away",
              "3 state queries in a row failed: UNAVAILABLE: io exception", System.currentTimeMillis()))
          .thenReply(replyTo, s -> Done.getInstance()));
    }

    @Override
    public EventHandler<Integer, NoticeEvent> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((state, e) -> state + 1);
    }
  }

  /** {@code under}: where the temporary journals go (null: the system's temporary directory). */
  static void run(PrintStream out, Path under) throws Exception {
    out.println("Journal durability: " + EVENTS + " events persisted one at a time (after " + WARMUP + " unmeasured), per event:");
    for (boolean fsync : List.of(true, false)) {
      Path dir = under == null ? Files.createTempDirectory("dpuctl-journal-bench-")
          : Files.createTempDirectory(Files.createDirectories(under), "dpuctl-journal-bench-");
      try {
        Config config = AppConfig.withDataDir(AppConfig.load(), dir);
        if (!fsync) {
          String url = config.getString(AppConfig.DB_URL_KEY).replace("jdbc:h2:fsync:", "jdbc:h2:file:");
          config = AppConfig.with(config, AppConfig.DB_URL_KEY, url);
        }
        List<Long> micros = measure(config);
        Collections.sort(micros);
        out.printf("  %-34s median %6.2f ms   p99 %6.2f ms%n", fsync ? "jdbc:h2:fsync: (the default)" : "jdbc:h2:file: (no sync, as before)",
            micros.get(micros.size() / 2) / 1000.0, micros.get((int) (micros.size() * 0.99)) / 1000.0);
      } finally {
        io.github.dpucoordinator.sim.Simulation.deleteTree(dir);
      }
    }
  }

  private static List<Long> measure(Config config) throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "journal-bench",
        com.typesafe.config.ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(config));
    try {
      io.github.dpucoordinator.common.JournalSchema.createIfNotExists(system.settings().config(), Runnable::run).toCompletableFuture()
          .get(60, TimeUnit.SECONDS);
      Behavior<ActorRef<Done>> writer = new Writer();
      ActorRef<ActorRef<Done>> ref = system.systemActorOf(writer, "writer", org.apache.pekko.actor.typed.Props.empty());
      List<Long> micros = new ArrayList<>();
      for (int i = 0; i < WARMUP + EVENTS; i++) {
        long start = System.nanoTime();
        AskPattern.<ActorRef<Done>, Done>ask(ref, r -> r, Duration.ofSeconds(30), system.scheduler()).toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
        if (i >= WARMUP) {
          micros.add((System.nanoTime() - start) / 1000);
        }
      }
      return micros;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

}
