package io.github.dpucoordinator.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * How the tests start dpuctl in a JVM of its own, as the launcher does (the main classes and their
 * dependencies, not the test classes). The build's classes are packed into a jar once, and one start of the
 * service writes a class-data archive that every later JVM maps instead of loading the same classes again:
 * about half of each start, and the crash tests start the service many times. Only speed depends on the
 * archive; without one (it could not be written) the JVMs start the ordinary way.
 */
public final class DpuctlJvm {
  private static List<String> prefix;

  private DpuctlJvm() {}

  /** java, its options, {@code jvmArgs}, the classpath and dpuctl's main class: append dpuctl's arguments. */
  public static synchronized List<String> command(List<String> jvmArgs) {
    if (prefix == null) {
      prefix = prepare();
    }
    List<String> cmd = new ArrayList<>(prefix.subList(0, prefix.size() - 3));
    cmd.addAll(jvmArgs);
    cmd.addAll(prefix.subList(prefix.size() - 3, prefix.size()));
    return cmd;
  }

  public static List<String> command() {
    return command(List.of());
  }

  private static List<String> prepare() {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> base = new ArrayList<>(List.of(java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m"));
    try {
      Path dir = Files.createTempDirectory("dpuctl-test-jvm-");
      // 70-odd MB (the classes' jar and the archive) each test JVM made and left behind: removed when it exits (a process
      // still running from it keeps what it has open)
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          io.github.dpucoordinator.sim.Simulation.deleteTree(dir);
        } catch (IOException | RuntimeException e) {
          // a temporary directory left behind
        }
      }, "dpuctl-test-jvm-cleanup"));
      String classpath = classpath(dir);
      Path archive = dir.resolve("dpuctl.jsa");
      writeArchive(base, classpath, dir, archive);
      if (Files.isRegularFile(archive)) {
        base.addAll(List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off"));
      }
      base.addAll(List.of("-cp", classpath, Main.class.getName()));
      return base;
    } catch (IOException e) {
      base.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
      return base;
    }
  }

  /** The main classes as a jar (a class-data archive cannot cover a directory), then every dependency jar. */
  private static String classpath(Path dir) throws IOException {
    Path classes;
    try {
      classes = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IOException(e);
    }
    Path jar = dir.resolve("dpu-coordinator-classes.jar");
    try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out);
        Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
        j.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
        Files.copy(f, j);
        j.closeEntry();
      }
    }
    List<String> entries = new ArrayList<>(List.of(jar.toString()));
    for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      if (e.endsWith(".jar")) {
        entries.add(e);
      }
    }
    return String.join(java.io.File.pathSeparator, entries);
  }

  /** One start of the service up to "up", then a clean stop, which writes the archive. */
  private static void writeArchive(List<String> base, String classpath, Path dir, Path archive) throws IOException {
    List<String> cmd = new ArrayList<>(base);
    cmd.addAll(List.of("-XX:ArchiveClassesAtExit=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off", "-cp", classpath,
        Main.class.getName(), "npu", "--data-dir", dir.resolve("data").toString(), "--admin-port", "0"));
    Path output = dir.resolve("archive.out");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
    pb.environment().put("DPUCOORD_DPU_API_PORT", "0");
    pb.environment().put("DPUCOORD_WATCH", "false");
    pb.environment().put("DPUCOORD_PIPE_GATEWAY", "false");
    Process p = pb.start();
    try {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (p.isAlive() && !Files.readString(output).contains("NPU service up") && System.nanoTime() < until) {
        p.waitFor(50, TimeUnit.MILLISECONDS);
      }
      p.destroy(); // SIGTERM: a clean exit writes the archive
      p.waitFor(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      p.destroyForcibly();
    }
  }
}
