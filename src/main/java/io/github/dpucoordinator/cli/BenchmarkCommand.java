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

  @picocli.CommandLine.Option(names = "--dir", paramLabel = "DIR",
      description = "Where the journal benchmark writes (default: a temporary directory); its filesystem is what is measured.")
  java.nio.file.Path dir;

  @Override
  public Integer call() throws Exception {
    if (tlsOnly) {
      TlsBenchmark.run(System.out);
      return ExitCodes.OK;
    }
    if (journalOnly) {
      JournalBenchmark.run(System.out, dir);
      return ExitCodes.OK;
    }
    int exit = Benchmark.run(System.out);
    JournalBenchmark.run(System.out, dir);
    return exit;
  }
}
