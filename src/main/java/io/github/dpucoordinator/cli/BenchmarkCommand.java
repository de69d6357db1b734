package io.github.dpucoordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "benchmark", mixinStandardHelpOptions = true, description = "Measure campaign overhead, resume time and idle RSS.")
final class BenchmarkCommand implements Callable<Integer> {
  @Override
  public Integer call() throws Exception {
    return Benchmark.run(System.out);
  }
}
