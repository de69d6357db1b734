package io.github.dpucoordinator.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs dpuctl in-process as a user would, capturing its exit code, stdout and stderr. */
public final class CliRunner {
  private CliRunner() {}

  public record Run(int exit, String out, String err) {}

  /**
   * Runs dpuctl as a JVM of its own in {@code dir} (for what a process-wide setting changes: -Dconfig.file, the
   * environment, the working directory); {@code prefix} goes before java (e.g. a privilege-dropping wrapper).
   */
  public static Run process(java.nio.file.Path dir, java.util.Map<String, String> env, java.util.List<String> prefix,
      java.util.List<String> jvmArgs, String... args) {
    java.util.List<String> cmd = new java.util.ArrayList<>(prefix);
    cmd.addAll(DpuctlJvm.command(jvmArgs));
    cmd.addAll(java.util.List.of(args));
    try {
      java.nio.file.Path out = java.nio.file.Files.createTempFile("dpuctl-out-", ".txt");
      java.nio.file.Path err = java.nio.file.Files.createTempFile("dpuctl-err-", ".txt");
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
      pb.environment().putAll(env);
      Process p = pb.start();
      if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("dpuctl " + String.join(" ", args) + " did not exit within 60 s");
      }
      Run r = new Run(p.exitValue(), java.nio.file.Files.readString(out), java.nio.file.Files.readString(err));
      java.nio.file.Files.deleteIfExists(out);
      java.nio.file.Files.deleteIfExists(err);
      return r;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  public static synchronized Run dpuctl(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int exit = Main.run(args);
      return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }
}
