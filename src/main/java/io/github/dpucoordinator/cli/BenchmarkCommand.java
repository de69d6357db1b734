package io.github.dpucoordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "benchmark", mixinStandardHelpOptions = true, description = "Measure campaign overhead, resume time and idle RSS.",
    footer = ExitCodes.HELP)
final class BenchmarkCommand implements Callable<Integer> {
  @picocli.CommandLine.Option(names = "--journal", description = "Only what durability costs: a persist's latency with and without fsync.")
  boolean journalOnly;

  @picocli.CommandLine.Option(names = "--tls", description = "Only what TLS costs: 64-DPU campaigns in plaintext and mutual TLS, and the handshake.")
  boolean tlsOnly;

  @picocli.CommandLine.Option(names = "--fleet", description = "Only the NPU's own cost with its DPUs out of its process (both protocols).")
  boolean fleetOnly;

  @picocli.CommandLine.Option(names = "--cold-connections", description = "With --fleet: the NPU closes its connections to the DPUs "
      + "between campaigns (watch off, connections.idle-timeout 1s), so each campaign opens them with its signals.")
  boolean coldConnections;

  @picocli.CommandLine.Option(names = "--pin", description = "With --fleet: the NPU service's threads on CPU 0 and the DPUs' on the "
      + "others (taskset), so neither waits for the other's work; needs 2 CPUs or more.")
  boolean pin;

  @picocli.CommandLine.Option(names = "--resume", description = "Only start-up: resume after SIGKILL with a 10,000-event journal, and idle RSS.")
  boolean resumeOnly;

  @picocli.CommandLine.Option(names = "--sizes", split = ",", paramLabel = "N[,N...]", defaultValue = "8,64,256,1024",
      description = "Fleet sizes for the NPU's own cost (default: ${DEFAULT-VALUE}).")
  java.util.List<Integer> sizes;

  @picocli.CommandLine.Option(names = "--dir", paramLabel = "DIR",
      description = "Where the journal benchmark writes (default: a temporary directory); its filesystem is what is measured.")
  java.nio.file.Path dir;

  @Override
  public Integer call() throws Exception {
    if ((coldConnections || pin) && !fleetOnly) {
      System.err.println("dpuctl benchmark: --cold-connections and --pin go with --fleet");
      return ExitCodes.USAGE;
    }
    if (pin && Runtime.getRuntime().availableProcessors() < 2) {
      System.err.println("dpuctl benchmark: --pin needs 2 CPUs or more, this machine offers " + Runtime.getRuntime().availableProcessors());
      return ExitCodes.USAGE;
    }
    if (tlsOnly) {
      TlsBenchmark.run(System.out);
      return ExitCodes.OK;
    }
    if (journalOnly) {
      JournalBenchmark.run(System.out, dir);
      return ExitCodes.OK;
    }
    if (sizes.stream().anyMatch(n -> n < 1 || n > 4096)) {
      System.err.println("dpuctl benchmark: --sizes takes fleet sizes from 1 to 4096, got " + sizes);
      return ExitCodes.USAGE;
    }
    if (resumeOnly) {
      return Benchmark.run(System.out, java.util.List.of());
    }
    if (fleetOnly) {
      new FleetBenchmark(System.out, Benchmark.javaOpts(), coldConnections, pin).run(sizes);
      return ExitCodes.OK;
    }
    int exit = Benchmark.run(System.out, sizes);
    JournalBenchmark.run(System.out, dir);
    return exit;
  }
}
