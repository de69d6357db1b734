package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "soak", mixinStandardHelpOptions = true,
    description = {"Chaos soak: the NPU service as a child process over real DPU agents (gNOI and the seed's protocol, some with a "
        + "failing shutdown step), driven through campaigns, module shutdowns/startups and DPU-initiated reboots (postponed once), "
        + "SIGKILLed at seeded random moments and restarted on the same data dir. Then it checks the invariants and prints each "
        + "with its count. Nothing on this machine is rebooted: the NPU's actions only append to files in --dir."},
    footer = {ExitCodes.HELP, "For soak, 1 means an invariant was violated or fewer kills were made (the seed, the kill and the events are "
        + "printed)."})
final class SoakCommand implements Callable<Integer> {
  @Option(names = "--kills", paramLabel = "N", defaultValue = "20", description = "SIGKILLs of the NPU service (default ${DEFAULT-VALUE}).")
  int kills;

  @Option(names = "--duration", paramLabel = "D", defaultValue = "30m",
      description = "Stop starting new cycles after this long even if fewer kills were made (e.g. 90s, 10m; default ${DEFAULT-VALUE}).")
  String duration;

  @Option(names = "--dpus", paramLabel = "M", defaultValue = "4", description = "DPU agents, alternately gNOI and RebootService (default ${DEFAULT-VALUE}).")
  int dpus;

  @Option(names = "--seed", paramLabel = "S", description = "Seed of the operations and kill moments (default: random; printed).")
  Long seed;

  @Option(names = "--dir", paramLabel = "DIR", description = "Where the data dir, logs and action records go (default: a new temporary "
      + "directory, removed after a clean run).")
  Path dir;

  @Option(names = "--journal-url", paramLabel = "URL", defaultValue = "", description = "The service's journal, e.g. "
      + "jdbc:postgresql://127.0.0.1:5432/dpucoord (default: the H2 file in the data dir).")
  String journalUrl;

  @Option(names = "--journal-user", paramLabel = "U", defaultValue = "", description = "The journal's user (with --journal-url).")
  String journalUser;

  @Option(names = "--journal-password", paramLabel = "P", defaultValue = "", description = "The journal's password (with --journal-url).")
  String journalPassword;

  @Option(names = "--json", description = "Print one JSON object (seed, kills, operations, invariants with checked and violations, "
      + "restartMillis, wallMillis) and nothing else on stdout.")
  boolean json;

  @Option(names = "--verbose", description = "Show the agents' log lines (they run in this process) here too, not only in DIR/dpus.log.")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    Duration max = com.typesafe.config.ConfigFactory.parseString("d = " + duration).getDuration("d");
    if (kills < 1 || dpus < 1) {
      System.err.println("soak: --kills and --dpus must be at least 1");
      return ExitCodes.USAGE;
    }
    boolean temporary = dir == null;
    Path where = temporary ? Files.createTempDirectory("dpuctl-soak-") : dir;
    Files.createDirectories(where);
    PrintStream progress = json ? System.err : System.out;
    boolean ok;
    // the agents' and G0's offloader's lines (they run in this process) go to dpus.log; the service's own to its files
    try (SoakLogFile file = SoakLogFile.open(where.resolve("dpus.log"), verbose)) {
      ok = soak(max, where, progress);
    }
    if (ok && temporary) {
      io.github.dpucoordinator.sim.Simulation.deleteTree(where);
    } else {
      progress.println("soak: logs, journal and action records kept in " + where);
    }
    return ok ? ExitCodes.OK : ExitCodes.DEGRADED;
  }

  /** Runs the soak and reports it; whether every invariant held over all the kills asked for. */
  private boolean soak(Duration max, Path where, PrintStream progress) throws Exception {
    long s = seed != null ? seed : new java.security.SecureRandom().nextLong();
    progress.printf("soak: seed %d (replay with --seed %d), %d kills, %d DPUs, in %s%n", s, s, kills, dpus, where);
    long started = System.nanoTime();
    SoakLedger ledger = new Soak(new Soak.Options(kills, max, dpus, s, where, journalUrl, journalUser, journalPassword), progress).run();
    long wall = (System.nanoTime() - started) / 1_000_000;
    List<SoakLedger.Invariant> invariants = ledger.check();
    boolean ok = invariants.stream().allMatch(i -> i.violations().isEmpty()) && ledger.kills.size() == kills;
    if (json) {
      System.out.println(new ObjectMapper().writeValueAsString(toJson(ledger, invariants, wall, ok)));
    } else {
      print(System.out, ledger, invariants, wall, ok);
    }
    return ok;
  }

  private void print(PrintStream out, SoakLedger ledger, List<SoakLedger.Invariant> invariants, long wall, boolean ok) {
    out.printf("soak: %d kills survived over %d operations %s in %.1f s (seed %d)%n", ledger.kills.size(), ledger.ops.size(),
        operationCounts(ledger), wall / 1000.0, ledger.seed);
    List<Long> restarts = ledger.kills.stream().map(SoakLedger.Kill::restartMillis).sorted().toList();
    if (!restarts.isEmpty()) {
      out.printf("soak: answering again after a kill: median %d ms, max %d ms%n", restarts.get(restarts.size() / 2),
          restarts.get(restarts.size() - 1));
    }
    ledger.ops.stream().collect(Collectors.groupingBy(o -> o.kind, TreeMap::new, Collectors.toList())).forEach((kind, list) -> {
      List<Long> calm = list.stream().filter(o -> o.kill == null).map(o -> o.millis).sorted().toList();
      List<Long> killed = list.stream().filter(o -> o.kill != null && !o.kill.quiet()).map(o -> o.millis).sorted().toList();
      out.printf("soak: %s took median %s ms undisturbed (%d), %s ms with a kill in it (%d)%n", kind, median(calm), calm.size(),
          median(killed), killed.size());
    });
    for (SoakLedger.Invariant i : invariants) {
      out.printf("  %-26s %s: checked %d, violations %d%n", i.name(), i.violations().isEmpty() ? "OK  " : "FAIL", i.checked(),
          i.violations().size());
      i.violations().forEach(v -> out.println("      " + v));
    }
    if (ledger.kills.size() < kills) {
      out.printf("soak: only %d of %d kills were made (--duration %s, or an operation did not end)%n", ledger.kills.size(), kills, duration);
    }
    out.println(ok ? "soak: every invariant held" : "soak: FAILED (seed " + ledger.seed + "; replay with --seed " + ledger.seed + ")");
  }

  private static String median(List<Long> sorted) {
    return sorted.isEmpty() ? "-" : String.valueOf(sorted.get(sorted.size() / 2));
  }

  private static Map<String, Long> operationCounts(SoakLedger ledger) {
    return ledger.ops.stream().collect(Collectors.groupingBy(o -> o.kind, TreeMap::new, Collectors.counting()));
  }

  private ObjectNode toJson(SoakLedger ledger, List<SoakLedger.Invariant> invariants, long wall, boolean ok) {
    ObjectMapper m = new ObjectMapper();
    ObjectNode root = m.createObjectNode();
    root.put("seed", ledger.seed).put("ok", ok).put("kills", ledger.kills.size()).put("wallMillis", wall);
    ObjectNode ops = root.putObject("operations");
    operationCounts(ledger).forEach(ops::put);
    ArrayNode inv = root.putArray("invariants");
    for (SoakLedger.Invariant i : invariants) {
      ObjectNode o = inv.addObject().put("name", i.name()).put("says", i.says()).put("checked", i.checked());
      ArrayNode v = o.putArray("violations");
      i.violations().forEach(v::add);
    }
    ArrayNode restarts = root.putArray("restartMillis");
    ledger.kills.forEach(k -> restarts.add(k.restartMillis()));
    return root;
  }
}
