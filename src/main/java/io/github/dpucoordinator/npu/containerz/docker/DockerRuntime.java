package io.github.dpucoordinator.npu.containerz.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.RestartPolicy;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import io.github.dpucoordinator.npu.containerz.ContainerRuntime;
import io.github.dpucoordinator.npu.containerz.ContainerSpec;
import io.github.dpucoordinator.npu.containerz.ContainerzError;
import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import io.github.dpucoordinator.npu.containerz.ContainerzSettings;
import io.github.dpucoordinator.npu.containerz.ImageRef;
import io.github.dpucoordinator.npu.containerz.UpdateCheck;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Docker runtime: the Docker Engine API over its socket, through docker-java (httpclient5 transport). A Deploy's
 * tarball is loaded once per image id and tagged {@code name:tag}; containers are created with the request's name,
 * labels, environment, command, ports, restart policy and allowed capabilities and devices, and carry the label
 * {@value #MANAGED}: only containers with it are listed, stopped or removed, so the service never touches a container
 * it did not create. Restart policies and logs are Docker's own. An update renames the old container aside while the
 * new one starts, and renames it back if the new one does not keep running.
 */
public final class DockerRuntime implements ContainerRuntime {
  /** The label on every container this service creates. */
  public static final String MANAGED = "io.github.dpucoordinator.containerz";
  private static final Logger log = LoggerFactory.getLogger(DockerRuntime.class);

  private final DockerClient docker;
  private final DockerCalls calls;
  private final ContainerzSettings settings;
  private final ActorSystem<?> system;

  private DockerRuntime(DockerClient docker, DockerCalls calls, ContainerzSettings settings, ActorSystem<?> system) {
    this.docker = docker;
    this.calls = calls;
    this.settings = settings;
    this.system = system;
  }

  public static DockerRuntime open(ActorSystem<?> system, ContainerzSettings settings, Executor blocking) {
    DefaultDockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(settings.runtime().dockerHost()).build();
    ApacheDockerHttpClient http = new ApacheDockerHttpClient.Builder().dockerHost(config.getDockerHost()).sslConfig(config.getSSLConfig())
        .maxConnections(16).connectionTimeout(Duration.ofSeconds(5)).responseTimeout(Duration.ofMinutes(10)).build();
    log.info("[container=all dpu=none] docker runtime on {}", settings.runtime().dockerHost());
    return new DockerRuntime(DockerClientImpl.getInstance(config, http), new DockerCalls(blocking, settings.runtime().dockerHost()), settings,
        system);
  }

  /** The managed container named {@code name}, or NOT_FOUND. */
  private com.github.dockerjava.api.model.Container find(String name) throws ContainerzError {
    return docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(MANAGED, "true")).exec().stream()
        .filter(c -> List.of(c.getNames()).contains("/" + name)).findFirst()
        .orElseThrow(() -> new ContainerzError(Code.NOT_FOUND, "no container instance " + name));
  }

  private void load(ContainerSpec spec, Path tarball) throws Exception {
    try {
      docker.inspectImageCmd(spec.imageId()).exec();
    } catch (NotFoundException missing) {
      try (InputStream in = Files.newInputStream(tarball)) {
        docker.loadImageCmd(in).exec();
      }
    }
    docker.tagImageCmd(spec.imageId(), spec.image().name(), spec.image().tag()).withForce().exec();
  }

  private String user(ContainerSpec spec) {
    if (!spec.user().isEmpty()) {
      return spec.user();
    }
    String image = String.valueOf(docker.inspectImageCmd(spec.imageId()).exec().getConfig().getUser());
    if (image.matches("[1-9][0-9]*(:[0-9]+)?") || settings.allow().runAsRoot()) {
      return image.equals("null") ? "" : image;
    }
    return settings.runtime().defaultUser();
  }

  private String create(ContainerSpec spec) {
    Map<String, String> labels = new HashMap<>(spec.labels());
    labels.put(MANAGED, "true");
    List<ExposedPort> exposed = new ArrayList<>();
    Ports bindings = new Ports();
    for (ContainerSpec.Port p : spec.ports()) {
      ExposedPort e = ExposedPort.tcp(p.internal());
      exposed.add(e);
      bindings.bind(e, Ports.Binding.bindPort(p.external()));
    }
    RestartPolicy restart = switch (spec.restart().policy()) {
      case NONE -> RestartPolicy.noRestart();
      case ALWAYS -> RestartPolicy.alwaysRestart();
      case UNLESS_STOPPED -> RestartPolicy.unlessStoppedRestart();
      case ON_FAILURE -> RestartPolicy.onFailureRestart(spec.restart().attempts());
    };
    HostConfig host = HostConfig.newHostConfig().withRestartPolicy(restart).withPortBindings(bindings)
        .withNetworkMode(spec.network().isEmpty() ? settings.runtime().dockerNetwork() : spec.network())
        .withCapAdd(spec.capAdd().stream().map(c -> Capability.valueOf(c.toUpperCase(java.util.Locale.ROOT).replaceFirst("^CAP_", ""))).toArray(Capability[]::new))
        .withDevices(spec.devices().stream().map(com.github.dockerjava.api.model.Device::parse).toList());
    if (spec.limits().hardMemBytes() > 0) {
      host.withMemory(spec.limits().hardMemBytes());
    }
    if (spec.limits().softMemBytes() > 0) {
      host.withMemoryReservation(spec.limits().softMemBytes());
    }
    if (spec.limits().maxCpu() > 0) {
      host.withNanoCPUs((long) (spec.limits().maxCpu() * 1e9));
    }
    CreateContainerCmd cmd = docker.createContainerCmd(spec.image().toString()).withName(spec.name()).withLabels(labels)
        .withEnv(spec.env().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList()).withExposedPorts(exposed)
        .withHostConfig(host).withUser(user(spec));
    if (!spec.cmd().isEmpty()) {
      cmd.withCmd(spec.cmd());
    }
    return cmd.exec().getId();
  }

  @Override
  public CompletionStage<String> start(ContainerSpec spec, Path tarball) {
    return calls.call("start " + spec.name(), () -> {
      load(spec, tarball);
      String id = create(spec);
      docker.startContainerCmd(id).exec();
      log.info("[container={} dpu={}] started in Docker ({})", spec.name(), spec.dpu(), id.substring(0, 12));
      return spec.name();
    });
  }

  @Override
  public CompletionStage<String> startAgain(String name) {
    return calls.call("start " + name, () -> {
      docker.startContainerCmd(find(name).getId()).exec();
      return name;
    });
  }

  @Override
  public CompletionStage<String> stop(String name, boolean force) {
    return calls.call("stop " + name, () -> {
      var c = find(name);
      if (force) {
        if ("running".equals(c.getState())) {
          docker.killContainerCmd(c.getId()).exec();
        }
      } else {
        docker.stopContainerCmd(c.getId()).withTimeout((int) Math.max(1, settings.runtime().stopGrace().toSeconds())).exec();
      }
      return name;
    });
  }

  @Override
  public CompletionStage<String> remove(String name, boolean force) {
    return calls.call("remove " + name, () -> {
      var c = find(name);
      if ("running".equals(c.getState()) && !force) {
        throw new ContainerzError(Code.FAILED_PRECONDITION, "the container " + name + " is running: stop it first, or remove it with force");
      }
      docker.removeContainerCmd(c.getId()).withForce(force).exec();
      return name;
    });
  }

  @Override
  public CompletionStage<List<Container>> list() {
    return calls.call("list", () -> docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(MANAGED, "true")).exec().stream()
        .filter(c -> c.getNames().length > 0 && !c.getNames()[0].contains(".previous"))
        .map(c -> {
          Map<String, String> labels = new HashMap<>(c.getLabels());
          labels.remove(MANAGED);
          int colon = c.getImage().lastIndexOf(':');
          ImageRef ref = new ImageRef(colon > 0 ? c.getImage().substring(0, colon) : c.getImage(), colon > 0 ? c.getImage().substring(colon + 1) : "latest");
          return new Container(c.getId(), c.getNames()[0].substring(1), ref, "running".equals(c.getState()), labels);
        }).toList());
  }

  @Override
  public CompletionStage<String> update(String name, ContainerSpec next, Path tarball) {
    String aside = name + ".previous";
    return calls.call("update " + name, () -> {
      var old = find(name);
      docker.stopContainerCmd(old.getId()).withTimeout((int) Math.max(1, settings.runtime().stopGrace().toSeconds())).exec();
      docker.renameContainerCmd(old.getId()).withName(aside).exec();
      return old;
    }).thenCompose(old -> UpdateCheck.verdict(start(next, tarball), settings.runtime().startCheck(), () -> calls.call("check " + name,
            () -> Boolean.TRUE.equals(docker.inspectContainerCmd(find(name).getId()).exec().getState().getRunning())))
        .thenCompose(failed -> calls.call("update " + name, () -> {
          if (failed == null) {
            docker.removeContainerCmd(old.getId()).withForce(true).exec();
            return name;
          }
          try {
            docker.removeContainerCmd(find(name).getId()).withForce(true).exec();
          } catch (ContainerzError none) {
            // the new one was never made
          }
          docker.renameContainerCmd(old.getId()).withName(name).exec();
          docker.startContainerCmd(old.getId()).exec();
          throw UpdateCheck.failed(name, next.image(), failed, old.getImage(), null);
        })));
  }

  @Override
  public CompletionStage<Source<String, NotUsed>> log(String name, boolean follow) {
    return calls.call("log " + name, () -> {
      String id = find(name).getId();
      Pair<BoundedSourceQueue<String>, Source<String, NotUsed>> q = Source.<String>queue(100_000).preMaterialize(system);
      BoundedSourceQueue<String> out = q.first();
      StringBuilder partial = new StringBuilder();
      ResultCallback.Adapter<Frame> frames = docker.logContainerCmd(id).withStdOut(true).withStdErr(true).withFollowStream(follow)
          .withTailAll().exec(new ResultCallback.Adapter<>() {
            @Override
            public void onNext(Frame f) {
              partial.append(new String(f.getPayload(), StandardCharsets.UTF_8));
              for (int nl = partial.indexOf("\n"); nl >= 0; nl = partial.indexOf("\n")) {
                out.offer(partial.substring(0, nl));
                partial.delete(0, nl + 1);
              }
            }

            @Override
            public void onComplete() {
              if (partial.length() > 0) {
                out.offer(partial.toString());
              }
              out.complete();
              super.onComplete();
            }

            @Override
            public void onError(Throwable t) {
              out.fail(calls.translate("log " + name, t));
              super.onError(t);
            }
          });
      return q.second().watchTermination((mat, done) -> {
        done.whenComplete((ok, f) -> {
          try {
            frames.close(); // the client went: stop following
          } catch (java.io.IOException ignored) {
            // closing only stops the stream
          }
        });
        return NotUsed.getInstance();
      });
    });
  }


  @Override
  public void close() {
    try {
      docker.close();
    } catch (java.io.IOException e) {
      log.debug("closing the Docker client: {}", e.getMessage());
    }
  }
}
