package io.github.dpucoordinator.npu.containerz.process;

import io.github.dpucoordinator.npu.containerz.ContainerSpec;
import io.github.dpucoordinator.npu.containerz.ContainerzError;
import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import io.github.dpucoordinator.npu.containerz.process.RootFs.ImageConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts a container's process, the way Nomad's exec driver does without its cgroups. Run as root, the image's unpacked
 * root becomes the process's root ({@code unshare --root}) in a PID namespace of its own, and it runs as the container's
 * user through a copy of {@code setpriv} placed in that root; every link of the chain has a parent-death signal, so when
 * the service dies, however it dies, the namespace's first process is killed and with it every process of the
 * container. Run as another user, the process runs in the unpacked root as its working directory, not confined, as
 * the service's user (a run_as is then refused). All processes are started from one long-lived thread, since a
 * parent-death signal follows the thread that started the process.
 */
final class Launcher implements AutoCloseable {
  /** Where the copy of setpriv and its libraries go inside a root. */
  static final String TOOLS = ".containerz";
  private static final Pattern LIBRARY = Pattern.compile("(/\\S+)");

  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "containerz-launcher");
    t.setDaemon(true);
    return t;
  });
  private final boolean root;
  private final String defaultUser;
  private final Path setpriv;
  private final Path unshare;

  /** Refused (IOException) where util-linux's setpriv or unshare is missing. */
  Launcher(boolean root, String defaultUser) throws IOException {
    this.root = root;
    this.defaultUser = defaultUser;
    this.setpriv = which("setpriv");
    this.unshare = which("unshare");
  }

  static boolean runningAsRoot() {
    try {
      return Files.readString(Path.of("/proc/self/status")).lines().filter(l -> l.startsWith("Uid:"))
          .anyMatch(l -> l.split("\\s+")[2].equals("0"));
    } catch (IOException e) {
      return false;
    }
  }

  /** The command line that runs {@code spec} in {@code rootFs}, whose image says {@code image}. */
  List<String> command(ContainerSpec spec, ImageConfig image, Path rootFs) throws ContainerzError {
    List<String> argv = new ArrayList<>(image.entrypoint());
    argv.addAll(spec.cmd().isEmpty() ? image.cmd() : spec.cmd());
    if (argv.isEmpty()) {
      throw new ContainerzError(Code.FAILED_PRECONDITION, "the image " + spec.image() + " names no entrypoint or command, and the request no cmd");
    }
    refuseWhatItCannotDo(spec);
    List<String> c = new ArrayList<>(List.of(setpriv.toString(), "--pdeathsig=KILL", "--"));
    if (!root) {
      if (!spec.user().isEmpty()) {
        throw new ContainerzError(Code.FAILED_PRECONDITION, "run_as needs the service to run as root; it runs as another user here");
      }
      Path program = rootFs.resolve(argv.get(0).replaceFirst("^/+", ""));
      c.add(Files.isExecutable(program) ? program.toString() : argv.get(0));
      c.addAll(argv.subList(1, argv.size()));
      return c;
    }
    String workDir = image.workingDir().isEmpty() ? "/" : image.workingDir();
    c.addAll(List.of(unshare.toString(), "--pid", "--fork", "--kill-child=SIGKILL", "--root=" + rootFs, "--wd=" + workDir, "--"));
    String user = userOf(spec, image, rootFs);
    if (!user.equals("0")) {
      String[] ug = user.split(":");
      String gid = ug.length > 1 ? ug[1] : ug[0];
      c.addAll(List.of("/" + TOOLS + "/ld.so", "--library-path", "/" + TOOLS + "/lib", "/" + TOOLS + "/setpriv", "--reuid=" + ug[0],
          "--regid=" + gid, "--clear-groups", "--pdeathsig=KILL", "--"));
    }
    c.addAll(argv);
    return c;
  }

  /** Capabilities, devices, networks other than the host's and limits need the docker runtime: FAILED_PRECONDITION saying so. */
  private static void refuseWhatItCannotDo(ContainerSpec spec) throws ContainerzError {
    String what = !spec.capAdd().isEmpty() ? "added capabilities" : !spec.devices().isEmpty() ? "devices"
        : !spec.network().isEmpty() && !spec.network().equals("host") ? "the network " + spec.network()
        : spec.limits().any() ? "CPU and memory limits" : null;
    if (what != null) {
      throw new ContainerzError(Code.FAILED_PRECONDITION, what + " are not available with the process runtime (it runs containers as "
          + "processes on the host's network); dpu-coordinator.npu.containerz.runtime = docker offers them");
    }
  }

  /**
   * uid[:gid]: the request's, else the image's USER (names looked up in the image's own /etc/passwd and /etc/group, as
   * Docker does) unless it is root, else the default. A name the image does not define is FAILED_PRECONDITION.
   */
  private String userOf(ContainerSpec spec, ImageConfig image, Path rootFs) throws ContainerzError {
    if (!spec.user().isEmpty()) {
      return spec.user();
    }
    if (image.user().isEmpty()) {
      return defaultUser;
    }
    String[] ug = image.user().split(":", 2);
    String uid = ug[0].matches("[0-9]+") ? ug[0] : lookUp(rootFs, "passwd", ug[0], spec, 2);
    String gid = ug.length > 1 ? (ug[1].matches("[0-9]+") ? ug[1] : lookUp(rootFs, "group", ug[1], spec, 2))
        : ug[0].matches("[0-9]+") ? "" : lookUp(rootFs, "passwd", ug[0], spec, 3);
    if (Long.parseLong(uid) == 0) {
      return defaultUser; // the image's root is not the host's: root only when a request asks and the operator allows it
    }
    return gid.isEmpty() ? uid : uid + ":" + gid;
  }

  /** Field {@code field} of {@code name}'s line in the image's /etc/{@code file} (not followed if a link). */
  private static String lookUp(Path rootFs, String file, String name, ContainerSpec spec, int field) throws ContainerzError {
    Path table = rootFs.resolve("etc").resolve(file);
    try {
      if (Files.isRegularFile(table, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        for (String line : Files.readAllLines(table, StandardCharsets.UTF_8)) {
          String[] f = line.split(":", -1);
          if (f.length > field && f[0].equals(name) && f[field].matches("[0-9]{1,9}")) {
            return f[field];
          }
        }
      }
    } catch (IOException e) {
      throw new ContainerzError(Code.FAILED_PRECONDITION, "cannot read /etc/" + file + " of the image " + spec.image() + ": " + e.getMessage());
    }
    throw new ContainerzError(Code.FAILED_PRECONDITION, "the image " + spec.image() + " runs as '" + name + "', which its /etc/" + file
        + " does not define");
  }

  /** The character devices every container gets in its /dev, as Docker gives them: name, major, minor. */
  private static final List<String[]> DEVICES = List.of(new String[] {"null", "1", "3"}, new String[] {"zero", "1", "5"},
      new String[] {"random", "1", "8"}, new String[] {"urandom", "1", "9"});

  /**
   * Copies setpriv, the loader and their libraries into {@code rootFs}/.containerz, and makes /dev/null, zero, random and
   * urandom in it (a shell's background job reads /dev/null: without it, {@code sleep 1 &} fails). Run as root only.
   */
  void equip(Path rootFs) throws IOException {
    if (!root) {
      return;
    }
    Path dev = Files.createDirectories(rootFs.resolve("dev"));
    for (String[] d : DEVICES) {
      Path node = dev.resolve(d[0]);
      if (Files.exists(node, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        Files.delete(node); // whatever the image put there: a container's devices are the runtime's
      }
      Process mknod = new ProcessBuilder("mknod", "-m", "666", node.toString(), "c", d[1], d[2]).redirectErrorStream(true).start();
      String out = new String(mknod.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      try {
        if (mknod.waitFor() != 0) {
          throw new IOException("cannot make " + node + ": " + out);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted making " + node, e);
      }
    }
    Path tools = rootFs.resolve(TOOLS);
    Files.createDirectories(tools.resolve("lib"));
    Files.copy(setpriv, tools.resolve("setpriv"), StandardCopyOption.REPLACE_EXISTING);
    Process ldd = new ProcessBuilder("ldd", setpriv.toString()).redirectErrorStream(true).start();
    String out = new String(ldd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    for (String line : out.split("\n")) {
      Matcher m = LIBRARY.matcher(line.trim());
      if (!m.find()) {
        continue;
      }
      Path lib = Path.of(m.group(1));
      if (!Files.isRegularFile(lib)) {
        continue;
      }
      boolean loader = !line.contains("=>");
      Files.copy(lib.toRealPath(), loader ? tools.resolve("ld.so") : tools.resolve("lib").resolve(lib.getFileName()),
          StandardCopyOption.REPLACE_EXISTING);
    }
    try {
      ldd.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Path which(String program) throws IOException {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      Path p = Path.of(dir, program);
      if (Files.isExecutable(p)) {
        return p.toRealPath();
      }
    }
    throw new IOException(program + " is not on the PATH (util-linux)");
  }

  /** Starts {@code command} with {@code env} from the launcher's thread; its stdout and stderr, merged, go to {@code output}. */
  CompletableFuture<Process> start(List<String> command, Map<String, String> env, Path workDir) {
    if (command.isEmpty()) {
      return CompletableFuture.failedFuture(new IOException("no command this runtime can run (its log says why)"));
    }
    return CompletableFuture.supplyAsync(() -> {
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).directory(workDir.toFile());
      pb.environment().clear();
      pb.environment().putAll(env);
      pb.environment().putIfAbsent("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
      try {
        Process p = pb.start();
        p.getOutputStream().close();
        return p;
      } catch (IOException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }, thread);
  }

  /** The directory the process starts in: the root (run as root, {@code --wd} moves it inside), else the image's working directory in it. */
  Path workDir(Path rootFs, ImageConfig image) {
    Path wd = root || image.workingDir().isEmpty() ? rootFs : rootFs.resolve(image.workingDir().replaceFirst("^/+", ""));
    return Files.isDirectory(wd) ? wd : rootFs;
  }

  /** The environment: the image's, then the request's over it. */
  static Map<String, String> env(ContainerSpec spec, ImageConfig image) {
    Map<String, String> env = new LinkedHashMap<>(image.env());
    env.putAll(spec.env());
    return env;
  }

  /** The container's first process: the namespace's init when run as root (the launcher's child), else the child itself. */
  static ProcessHandle main(Process p) {
    return p.toHandle().children().findFirst().filter(c -> p.info().command().orElse("").endsWith("unshare")).orElse(p.toHandle());
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
