package io.github.dpucoordinator.npu.containerz.process;

import io.github.dpucoordinator.npu.containerz.ContainerzSettings;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One container of the process runtime: its process, supervised. Each state is its own behavior: stopped, starting (the
 * process is being launched), running, stopping (SIGTERM sent; SIGKILL when the grace is over) and backing off (its
 * restart policy starts it again after a delay that doubles up to a cap, and starts over from the first once a run
 * lasted long enough). Every run has a number, so a late exit or timer of an earlier run is ignored. What must
 * survive the service (stopped by a user, the process to end if the service was killed) goes to its record first.
 */
final class ProcessContainer {
  private ProcessContainer() {}

  /** How long an exit waits for the rest of the process's output to reach the log. */
  private static final java.time.Duration DRAIN = java.time.Duration.ofSeconds(2);

  interface Msg {}

  /** Start it (a user's start: it is no longer stopped by a user); answered once the process runs, or why not. */
  record Start(ActorRef<Result> replyTo) implements Msg {}

  /** Stop it: SIGTERM then, after the grace, SIGKILL ({@code force}: SIGKILL at once); a user's stop unless {@code forService}. */
  record Stop(boolean force, boolean forService, ActorRef<Result> replyTo) implements Msg {}

  record GetInfo(ActorRef<Info> replyTo) implements Msg {}

  /** The answer to a start or a stop: null, or why it did not happen. */
  record Result(String failure) {
    static final Result OK = new Result(null);
  }

  /** What List shows. */
  record Info(ContainerRecord record, boolean running, int restarts, Integer lastExit) {}

  private record Launched(int run, Process process, Throwable failure) implements Msg {}

  private record Exited(int run, int code) implements Msg {}

  private record Again(int run) implements Msg {}

  private record GraceOver(int run) implements Msg {}

  /** How it runs: the command line, environment and working directory, the log, the record's directory, and the settings. */
  record Run(List<String> command, java.util.Map<String, String> env, Path workDir, BoundedLog log, Path dir, ContainerzSettings.Runtime settings) {}

  static Behavior<Msg> create(ContainerRecord record, Run run, Launcher launcher, boolean start) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      Life life = new Life(ctx, timers, record, run, launcher);
      if (start) {
        ctx.getSelf().tell(new Again(0));
        return life.backingOff(0);
      }
      return life.stopped(null);
    }));
  }

  private static final class Life {
    private final ActorContext<Msg> ctx;
    private final TimerScheduler<Msg> timers;
    private final Run run;
    private final Launcher launcher;
    private ContainerRecord record;
    private int runs;
    private int restarts;
    private Integer lastExit;
    private Duration delay;
    private long startedNanos;

    Life(ActorContext<Msg> ctx, TimerScheduler<Msg> timers, ContainerRecord record, Run run, Launcher launcher) {
      this.ctx = ctx;
      this.timers = timers;
      this.record = record;
      this.run = run;
      this.launcher = launcher;
      this.delay = run.settings().backoffInitial();
    }

    private String tag() {
      return "[container=" + record.spec().name() + " dpu=" + record.spec().dpu() + "]";
    }

    Behavior<Msg> stopped(ActorRef<Result> answer) {
      if (answer != null) {
        answer.tell(Result.OK);
      }
      return Behaviors.receive(Msg.class)
          .onMessage(Start.class, s -> {
            save(record.withStoppedByUser(false));
            restarts = 0;
            delay = run.settings().backoffInitial();
            return launch(s.replyTo());
          })
          .onMessage(Stop.class, s -> {
            s.replyTo().tell(Result.OK);
            return Behaviors.same();
          })
          .onMessage(GetInfo.class, g -> info(g, false))
          .onAnyMessage(m -> Behaviors.same())
          .build();
    }

    private Behavior<Msg> launch(ActorRef<Result> answer) {
      int n = ++runs;
      ctx.pipeToSelf(launcher.start(run.command(), run.env(), run.workDir()), (p, failure) -> new Launched(n, p, failure));
      List<ActorRef<Result>> waiting = new ArrayList<>();
      if (answer != null) {
        waiting.add(answer);
      }
      return Behaviors.withStash(100, stash -> Behaviors.receive(Msg.class)
          .onMessage(Launched.class, l -> l.run() == n, l -> {
            if (l.failure() != null) {
              String why = "cannot start: " + l.failure().getMessage();
              ctx.getLog().error("{} {}", tag(), why);
              run.log().note("[containerz] " + why);
              waiting.forEach(w -> w.tell(new Result(why)));
              return stash.unstashAll(stopped(null));
            }
            return stash.unstashAll(running(l.process(), n, waiting));
          })
          .onMessage(GetInfo.class, g -> info(g, false))
          .onAnyMessage(m -> {
            stash.stash(m);
            return Behaviors.same();
          })
          .build());
    }

    private Behavior<Msg> running(Process p, int n, List<ActorRef<Result>> waiting) {
      startedNanos = System.nanoTime();
      save(record.withProcess(p.pid(), p.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L)));
      java.util.concurrent.CompletableFuture<Void> drained = new java.util.concurrent.CompletableFuture<>();
      Thread pump = new Thread(() -> {
        try {
          run.log().pump(p.getInputStream());
        } catch (IOException e) {
          ctx.getLog().warn("{} log: {}", tag(), e.getMessage());
        } finally {
          drained.complete(null);
        }
      }, "containerz-log-" + record.spec().name());
      pump.setDaemon(true);
      pump.start();
      // it counts as exited once its last output is in the log (a Log following it then reads all of it); a descendant that
      // still holds the output open does not hold that up for more than DRAIN after the exit
      ctx.pipeToSelf(p.onExit().thenCompose(done -> drained.completeOnTimeout(null, DRAIN.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
          .thenApply(d -> done)), (done, failure) -> new Exited(n, done == null ? -1 : done.exitValue()));
      ctx.getLog().info("{} running (pid {}, run {})", tag(), p.pid(), n);
      waiting.forEach(w -> w.tell(Result.OK));
      return Behaviors.receive(Msg.class)
          .onMessage(Exited.class, e -> e.run() == n, e -> exited(e.code()))
          .onMessage(Stop.class, s -> stopping(p, n, s))
          .onMessage(Start.class, s -> {
            s.replyTo().tell(Result.OK);
            return Behaviors.same();
          })
          .onMessage(GetInfo.class, g -> info(g, true))
          .onAnyMessage(m -> Behaviors.same())
          .build();
    }

    private Behavior<Msg> exited(int code) {
      lastExit = code;
      boolean longRun = System.nanoTime() - startedNanos >= run.settings().resetAfter().toNanos();
      if (longRun) {
        delay = run.settings().backoffInitial();
        restarts = 0;
      }
      if (!record.spec().restart().again(code, restarts)) {
        ctx.getLog().info("{} exited with {}; restart policy {}: not started again", tag(), code, record.spec().restart().policy());
        run.log().note("[containerz] exited with " + code);
        return stopped(null);
      }
      Duration wait = delay;
      delay = delay.multipliedBy(2).compareTo(run.settings().backoffMax()) > 0 ? run.settings().backoffMax() : delay.multipliedBy(2);
      restarts++;
      ctx.getLog().warn("{} exited with {}; restart policy {}: started again in {} ms (restart {})", tag(), code,
          record.spec().restart().policy(), wait.toMillis(), restarts);
      run.log().note("[containerz] exited with " + code + "; starting again in " + wait.toMillis() + " ms");
      timers.startSingleTimer(new Again(runs), wait);
      return backingOff(runs);
    }

    Behavior<Msg> backingOff(int n) {
      return Behaviors.receive(Msg.class)
          .onMessage(Again.class, a -> a.run() == n, a -> launch(null))
          .onMessage(Start.class, s -> {
            timers.cancelAll();
            save(record.withStoppedByUser(false));
            return launch(s.replyTo());
          })
          .onMessage(Stop.class, s -> {
            timers.cancelAll();
            if (!s.forService()) {
              save(record.withStoppedByUser(true));
            }
            return stopped(s.replyTo());
          })
          .onMessage(GetInfo.class, g -> info(g, false))
          .onAnyMessage(m -> Behaviors.same())
          .build();
    }

    private Behavior<Msg> stopping(Process p, int n, Stop first) {
      if (!first.forService()) {
        save(record.withStoppedByUser(true));
      }
      List<ActorRef<Result>> waiting = new ArrayList<>(List.of(first.replyTo()));
      ctx.getLog().info("{} stopping: {}", tag(), first.force() ? "SIGKILL" : "SIGTERM, SIGKILL after " + run.settings().stopGrace().toMillis() + " ms");
      if (first.force()) {
        kill(p);
      } else {
        Launcher.main(p).destroy();
        timers.startSingleTimer(new GraceOver(n), run.settings().stopGrace());
      }
      return Behaviors.receive(Msg.class)
          .onMessage(Exited.class, e -> e.run() == n, e -> {
            timers.cancelAll();
            lastExit = e.code();
            run.log().note("[containerz] stopped (exit " + e.code() + ")");
            ctx.getLog().info("{} stopped (exit {})", tag(), e.code());
            waiting.forEach(w -> w.tell(Result.OK));
            return stopped(null);
          })
          .onMessage(GraceOver.class, g -> g.run() == n, g -> {
            ctx.getLog().warn("{} still running after the stop grace: SIGKILL", tag());
            kill(p);
            return Behaviors.same();
          })
          .onMessage(Stop.class, s -> {
            waiting.add(s.replyTo());
            if (s.force()) {
              kill(p);
            }
            return Behaviors.same();
          })
          .onMessage(GetInfo.class, g -> info(g, true))
          .onAnyMessage(m -> Behaviors.same())
          .build();
    }

    private static void kill(Process p) {
      ProcessHandle main = Launcher.main(p);
      main.destroyForcibly();
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }

    private Behavior<Msg> info(GetInfo g, boolean running) {
      g.replyTo().tell(new Info(record, running, restarts, lastExit));
      return Behaviors.same();
    }

    private void save(ContainerRecord next) {
      record = next;
      try {
        next.write(run.dir());
      } catch (IOException e) {
        ctx.getLog().error("{} cannot write its record in {}: {}", tag(), run.dir(), e.getMessage());
      }
    }
  }
}
