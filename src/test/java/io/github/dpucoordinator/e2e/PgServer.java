package io.github.dpucoordinator.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private PostgreSQL server for a test: Debian's initdb and pg_ctl on a new directory and a free loopback port,
 * trust authentication for its one user, stopped and removed on {@link #close}. As root it runs as the postgres
 * user (initdb refuses root), in a directory that user may enter.
 */
public final class PgServer implements AutoCloseable {
  public static final String USER = "dpucoord";
  public static final String DATABASE = "dpucoord";
  private final Path dir;
  private final Path bin;
  private final int port;

  private PgServer(Path dir, Path bin, int port) {
    this.dir = dir;
    this.bin = bin;
    this.port = port;
  }

  public static PgServer start() throws Exception {
    Path bin;
    try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      bin = versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb"))).max(Comparator.naturalOrder())
          .orElseThrow(() -> new IllegalStateException("no initdb under /usr/lib/postgresql: install Debian's postgresql (.ci/run does)"));
    }
    Path dir = Files.createTempDirectory("dpuctl-pg-");
    Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    PgServer pg = new PgServer(dir, bin, Harness.freePort());
    if (isRoot()) {
      run(List.of("chown", "postgres:postgres", dir.toString()));
    }
    pg.asOwner("initdb", "-D", pg.data(), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-instructions");
    pg.ctl("start");
    pg.asOwner("createdb", "-h", "127.0.0.1", "-p", String.valueOf(pg.port), "-U", USER, DATABASE);
    return pg;
  }

  public String url() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
  }

  public int port() {
    return port;
  }

  /** Stops the server (fast: clients are disconnected) and starts it again on the same port and data. */
  public void restart() throws Exception {
    ctl("restart");
  }

  public void stop() throws Exception {
    asOwner("pg_ctl", "-D", data(), "-m", "fast", "-w", "stop");
  }

  public void begin() throws Exception {
    ctl("start");
  }

  private void ctl(String action) throws Exception {
    asOwner("pg_ctl", "-D", data(), "-l", dir.resolve("server.log").toString(), "-w", "-m", "fast", "-o",
        "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1", action);
  }

  public String log() {
    try {
      return Files.readString(dir.resolve("server.log"));
    } catch (IOException e) {
      return "(no server log: " + e.getMessage() + ")";
    }
  }

  private String data() {
    return dir.resolve("data").toString();
  }

  private void asOwner(String program, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    if (isRoot()) {
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.add(bin.resolve(program).toString());
    cmd.addAll(List.of(args));
    run(cmd);
  }

  private static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  private static void run(List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
    }
  }

  @Override
  public void close() throws Exception {
    try {
      stop();
    } catch (Exception e) {
      // already stopped, or never started: the directory goes all the same
    }
    io.github.dpucoordinator.sim.Simulation.deleteTree(dir);
  }
}
