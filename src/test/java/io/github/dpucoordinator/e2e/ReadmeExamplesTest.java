package io.github.dpucoordinator.e2e;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's worked examples, run as printed against real processes: every fenced block after an
 * {@code <!-- example: NAME -->} comment is a shell session ({@code $ } starts a command, {@code \} continues it,
 * other lines are what it prints; blocks with the same NAME are one session). Each session runs in a fresh
 * directory with {@code ./dpuctl} on this build; only the ports are changed, to free ones. A background command
 * ({@code ... &}) of dpuctl is waited for until it says it is up, as a user would. Every line the README shows
 * (apart from live progress lines, which are sampled) must appear in that order in what the command printed, compared with ids,
 * times, ports and decimals masked and {@code ...} standing for anything; {@code $ echo $?} checks the exit code.
 */
class ReadmeExamplesTest {
  private static final Pattern EXAMPLE = Pattern.compile("^<!-- example: ([\\w-]+) -->$");
  /** A transition's live phase as `chassis module ... --wait` prints it, e.g. "DPU0: HALTING". */
  private static final Pattern LIVE_PHASE = Pattern.compile("^[\\w.-]+: [A-Z_]+$");
  private static final Pattern HEREDOC = Pattern.compile("<<'?(\\w+)'?");
  private static final Pattern PORT = Pattern.compile("\\b(50[0-9]{3})\\b");
  private static final int SESSION_SECONDS = 150;

  record Step(String command, List<String> expected, boolean background) {}

  /** Each session is bounded by {@value #SESSION_SECONDS} s: its shell is killed then, with everything it started. */
  @TestFactory
  Stream<DynamicTest> theReadmesWorkedExamplesWorkAsPrinted(@TempDir Path dir) throws IOException {
    Map<String, List<Step>> sessions = sessions(Files.readAllLines(Path.of("README.md")));
    assertTrue(sessions.size() >= 4, "the README has its worked examples marked: " + sessions.keySet());
    return sessions.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> run(dir.resolve(e.getKey()), e.getValue())));
  }

  /** The marked blocks, by session name, in order. */
  static Map<String, List<Step>> sessions(List<String> readme) {
    Map<String, List<Step>> sessions = new LinkedHashMap<>();
    for (int i = 0; i < readme.size(); i++) {
      Matcher m = EXAMPLE.matcher(readme.get(i).strip());
      if (!m.matches()) {
        continue;
      }
      int open = i + 1;
      while (!readme.get(open).startsWith("```")) {
        open++;
      }
      List<Step> steps = sessions.computeIfAbsent(m.group(1), k -> new ArrayList<>());
      String command = null;
      List<String> expected = new ArrayList<>();
      for (int j = open + 1; !readme.get(j).startsWith("```"); j++) {
        String line = readme.get(j);
        if (line.startsWith("$ ")) {
          if (command != null) {
            steps.add(step(command, expected));
          }
          StringBuilder c = new StringBuilder(line.substring(2));
          while (c.toString().endsWith("\\")) {
            c.setLength(c.length() - 1);
            c.append(' ').append(readme.get(++j).strip());
          }
          Matcher heredoc = HEREDOC.matcher(c);
          if (heredoc.find()) { // the document's lines, up to its terminator, belong to the command
            do {
              c.append('\n').append(readme.get(++j));
            } while (!readme.get(j).equals(heredoc.group(1)));
          }
          command = c.toString().strip();
          expected = new ArrayList<>();
        } else if (command != null) {
          expected.add(line);
        }
        i = j;
      }
      if (command != null) {
        steps.add(step(command, expected));
      }
    }
    return sessions;
  }

  private static Step step(String command, List<String> expected) {
    boolean background = command.endsWith("&") && !command.endsWith("&&");
    return new Step(background ? command.substring(0, command.length() - 1).strip() : command, List.copyOf(expected), background);
  }

  private void run(Path dir, List<Step> steps) throws Exception {
    Files.createDirectories(dir);
    writeLauncher(dir);
    Map<String, String> ports = new LinkedHashMap<>();
    StringBuilder script = new StringBuilder("set +e\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n");
    // the service's default admin and DPU API ports too, where the README leaves them implicit
    String admin = withFreePorts("50100", ports);
    script.append("export DPUCOORD_ADMIN_PORT=").append(admin).append(" DPUCOORD_ADMIN=127.0.0.1:").append(admin)
        .append(" DPUCOORD_DPU_API_PORT=").append(withFreePorts("50101", ports)).append('\n');
    for (int n = 0; n < steps.size(); n++) {
      Step s = steps.get(n);
      String command = withFreePorts(s.command(), ports);
      if (s.background()) {
        script.append("( ").append(command).append(" ) > bg-").append(n).append(".out 2>&1 &\n");
        if (command.contains("./dpuctl npu") || command.contains("./dpuctl dpu ")) {
          // as a user would: the next command once the service says it is up
          script.append("pid=$!; for i in $(seq 1 600); do grep -qE 'NPU service up|DPU agent .* listening' bg-").append(n)
              .append(".out && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done\n");
        }
      } else if (command.equals("echo $?")) {
        script.append("echo \"@@STEP ").append(n).append("\"; echo $last; echo \"@@END ").append(n).append("\"\n");
      } else {
        // in braces, so that a here-document's terminator stays alone on its line
        script.append("echo \"@@STEP ").append(n).append("\"\n{ ").append(command).append("\n} 2>&1; last=$?; echo \"@@END ").append(n)
            .append("\"\n");
      }
    }
    Files.writeString(dir.resolve("session.sh"), script);
    Process bash = new ProcessBuilder("setsid", "bash", "session.sh").directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("session.out").toFile()).start();
    try {
      assertTrue(bash.waitFor(SESSION_SECONDS, TimeUnit.SECONDS), "the session ended within " + SESSION_SECONDS + " s:\n"
          + Files.readString(dir.resolve("session.out")));
    } finally {
      stop(bash);
    }
    String out = Files.readString(dir.resolve("session.out"));
    for (int n = 0; n < steps.size(); n++) {
      Step s = steps.get(n);
      if (s.background()) {
        continue;
      }
      String printed = between(out, "@@STEP " + n + "\n", "@@END " + n + "\n");
      assertFalse(printed == null, "step " + n + " (" + s.command() + ") did not run; session:\n" + out + logs(dir));
      assertPrints(s, printed, dir);
    }
  }

  /**
   * Ends the session's process group and waits until every process it had is gone, so that no service still writes
   * its journal into the directory when JUnit removes it; what TERM does not end in 15 s is killed.
   */
  private static void stop(Process bash) throws Exception {
    List<ProcessHandle> started = bash.toHandle().descendants().toList();
    new ProcessBuilder("kill", "-TERM", "--", "-" + bash.pid()).start().waitFor(10, TimeUnit.SECONDS); // its process group
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    for (ProcessHandle p : started) {
      try {
        p.onExit().get(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        p.destroyForcibly();
        p.onExit().get(5, TimeUnit.SECONDS);
      }
    }
    bash.destroyForcibly();
    bash.waitFor(5, TimeUnit.SECONDS);
  }

  private static void assertPrints(Step s, String printed, Path dir) throws IOException {
    List<String> actual = printed.lines().map(ReadmeExamplesTest::normalize).toList();
    int at = 0;
    for (String line : s.expected()) {
      if (line.isBlank() || (line.startsWith("[+") && !line.contains(" finished: ")) || LIVE_PHASE.matcher(line).matches()) {
        continue; // live progress is sampled: which short states show depends on timing
      }
      Pattern wanted = Pattern.compile(Stream.of(normalize(line).split("\\.\\.\\.", -1)).map(Pattern::quote)
          .reduce((a, b) -> a + ".*" + b).orElse(""));
      int found = -1;
      for (int k = at; k < actual.size() && found < 0; k++) {
        if (wanted.matcher(actual.get(k)).matches()) {
          found = k;
        }
      }
      assertTrue(found >= 0, "`" + s.command() + "` did not print, in order:\n  " + line + "\nit printed:\n" + printed + logs(dir));
      at = found + 1;
    }
  }

  /** Ids, times, ports, decimals and runs of spaces do not have to match. */
  static String normalize(String line) {
    return line.strip()
        .replaceAll("\\b[cmnu]\\d{8}T\\d{6}-[0-9a-f]{4}\\b", "<id>")
        .replaceAll("\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z", "<time>")
        .replaceAll("\\d\\d:\\d\\d:\\d\\dZ", "<time>")
        .replaceAll("\\[\\+\\s*\\d+\\.\\ds\\]", "[+t]")
        .replaceAll(":\\d{2,5}\\b", ":<port>")
        .replaceAll("\\d+\\.\\d+", "<n>")
        .replaceAll("\\s+", " ");
  }

  private static String withFreePorts(String command, Map<String, String> ports) throws IOException {
    Matcher m = PORT.matcher(command);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String port = ports.get(m.group(1));
      if (port == null) {
        port = String.valueOf(Harness.freePort());
        ports.put(m.group(1), port);
      }
      m.appendReplacement(out, port);
    }
    m.appendTail(out);
    return out.toString();
  }

  /** {@code ./dpuctl} on this build: the test classpath, with the launcher's DPUCTL_CONFIG handling. */
  private static void writeLauncher(Path dir) throws IOException {
    List<String> java = io.github.dpucoordinator.cli.DpuctlJvm.command();
    String quoted = String.join(" ", java.subList(0, java.size() - 1).stream().map(a -> "'" + a + "'").toList());
    Path launcher = dir.resolve("dpuctl");
    Files.writeString(launcher, "#!/usr/bin/env bash\n"
        + "opts=\"\"\n"
        + "[ -n \"${DPUCTL_CONFIG:-}\" ] && opts=\"-Dconfig.file=$DPUCTL_CONFIG\"\n"
        + "exec " + quoted.replace("'-cp'", "$opts '-cp'") + " " + java.get(java.size() - 1) + " \"$@\"\n");
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static String between(String text, String start, String end) {
    int a = text.indexOf(start);
    int b = a < 0 ? -1 : text.indexOf(end, a);
    return a < 0 || b < 0 ? null : text.substring(a + start.length(), b);
  }

  private static String logs(Path dir) throws IOException {
    StringBuilder b = new StringBuilder();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().startsWith("bg-")).sorted().toList()) {
        b.append("\n--- ").append(f.getFileName()).append(" ---\n").append(Files.readString(f));
      }
    }
    return b.toString();
  }
}
