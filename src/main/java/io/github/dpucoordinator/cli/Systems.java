package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** Helpers for the commands' actor systems. */
final class Systems {
  private Systems() {}

  /**
   * The config of a CLI command's short-lived client system: quiet, and not stopped by a JVM shutdown hook, so
   * that Ctrl-C ends the command without first failing its calls in flight (the command says what it stopped).
   */
  static Config clientConfig(Config config) {
    return com.typesafe.config.ConfigFactory.parseString(
        "pekko.loglevel = WARNING\npekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off").withFallback(config);
  }

  /** Undoes {@link #onInterrupt}. */
  interface Hook extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * While the returned hook is open, Ctrl-C or SIGTERM prints {@code message} (what goes on without the command)
   * instead of a failed call; close it before returning normally.
   */
  static Hook onInterrupt(String message) {
    Thread hook = new Thread(() -> System.err.println(message), "dpuctl-interrupted");
    Runtime.getRuntime().addShutdownHook(hook);
    return () -> {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // already running: it prints its message
      }
    };
  }

  static ActorSystem<Void> create(String name, Config config) {
    return create(Behaviors.empty(), name, config);
  }

  /** An actor system whose guardian is {@code guardian}. */
  static ActorSystem<Void> create(org.apache.pekko.actor.typed.Behavior<Void> guardian, String name, Config config) {
    return ActorSystem.create(guardian, name, config);
  }

  /** Waits for a startup step; the cause's message is what the operator needs to see. */
  static <T> T await(CompletionStage<T> stage, Duration timeout) throws Exception {
    try {
      return stage.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      while (cause.getCause() != null && (cause.getMessage() == null || cause instanceof java.util.concurrent.CompletionException)) {
        cause = cause.getCause();
      }
      throw cause instanceof Exception ex ? ex : new RuntimeException(cause);
    } catch (TimeoutException e) {
      throw new TimeoutException("no answer within " + timeout.toSeconds() + " s");
    }
  }

  /** The failure as one readable line: the outermost message, plus the root cause's if it adds anything. */
  static String rootMessage(Throwable t) {
    if (t instanceof com.typesafe.config.ConfigException ce) {
      return "invalid configuration: " + io.github.dpucoordinator.common.AppConfig.describe(ce);
    }
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    String root = clean(c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage());
    String top = t.getMessage() == null ? root : clean(t.getMessage());
    return top.contains(root) ? top : top + " (" + root + ")";
  }

  /** Drops the "java.x.FooException: " prefixes wrapped exceptions put in front of their cause's message. */
  private static String clean(String message) {
    return message.replaceAll("(?:[a-z][\\w]*\\.)+[A-Z][\\w$]*(?:Exception|Error): ", "");
  }
}
