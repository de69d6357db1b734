package io.github.dpucoordinator.npu.containerz;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Where containers run: the embedded process runtime or Docker. Every call completes with its value or fails with a
 * {@link ContainerzError} saying why (its code is the gRPC status the service answers with).
 */
public interface ContainerRuntime extends AutoCloseable {
  /** A container as ListContainer shows it. */
  record Container(String id, String name, ImageRef image, boolean running, Map<String, String> labels) {}

  /** Makes and starts {@code spec} from the image tarball {@code tarball}; completes with its instance name once it runs. */
  CompletionStage<String> start(ContainerSpec spec, java.nio.file.Path tarball);

  /** Starts the stopped instance {@code name} again. */
  CompletionStage<String> startAgain(String name);

  /** Stops {@code name}: SIGTERM, SIGKILL after the grace ({@code force}: at once). */
  CompletionStage<String> stop(String name, boolean force);

  /** Removes {@code name}; a running one only with {@code force}. */
  CompletionStage<String> remove(String name, boolean force);

  CompletionStage<List<Container>> list();

  /**
   * Replaces {@code name} with {@code next} (same name), break-before-make: the old one is stopped, the new one started;
   * if the new one does not start or does not keep running, the old one is started again and the call fails saying both.
   */
  CompletionStage<String> update(String name, ContainerSpec next, java.nio.file.Path tarball);

  /** The container's output so far, by line; with {@code follow}, and then what it writes until it stops. */
  CompletionStage<Source<String, NotUsed>> log(String name, boolean follow);

  @Override
  void close();
}
