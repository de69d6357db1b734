package io.github.dpucoordinator.npu.containerz.docker;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A Docker daemon of the test's own: its socket, data root and exec root under a temporary directory, the vfs storage
 * driver, no iptables and no bridge, so it touches nothing of the host's. Started from Debian's docker.io
 * ({@code dockerd} on the PATH; `.ci/run` installs it); a missing one fails the test, it is not skipped.
 */
public final class PrivateDocker implements AutoCloseable {
  final Path dir;
  public final String host;
  private final Process daemon;

  private PrivateDocker(Path dir, Process daemon) {
    this.dir = dir;
    this.host = "unix://" + dir.resolve("docker.sock");
    this.daemon = daemon;
  }

  public static PrivateDocker start(Path dir) throws Exception {
    Path dockerd = List.of("/usr/sbin/dockerd", "/usr/bin/dockerd").stream().map(Path::of).filter(Files::isExecutable).findFirst()
        .orElseThrow(() -> new AssertionError("the docker profile needs dockerd (Debian package docker.io; .ci/run installs it)"));
    Files.createDirectories(dir);
    Process p = new ProcessBuilder(dockerd.toString(), "--host", "unix://" + dir.resolve("docker.sock"), "--data-root", dir.resolve("root").toString(),
        "--exec-root", dir.resolve("exec").toString(), "--pidfile", dir.resolve("docker.pid").toString(), "--storage-driver", "vfs",
        "--iptables=false", "--ip6tables=false", "--bridge=none")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.to(dir.resolve("dockerd.log").toFile())).start();
    PrivateDocker d = new PrivateDocker(dir, p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.readString(dir.resolve("dockerd.log")).contains("API listen on " + dir.resolve("docker.sock"))) {
      assertTrue(p.isAlive() && System.nanoTime() < deadline, "dockerd did not come up: " + Files.readString(dir.resolve("dockerd.log")));
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // another process: its log is all there is to wait on
    }
    return d;
  }

  /** Stops the daemon (SIGTERM), keeping its data root: {@link #start} on the same directory brings it back. */
  void stop() throws Exception {
    daemon.destroy();
    if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
      daemon.destroyForcibly();
      daemon.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() throws Exception {
    stop();
    new ProcessBuilder("rm", "-rf", dir.toString()).inheritIO().start().waitFor(60, TimeUnit.SECONDS); // its data root: vfs layers
  }
}
