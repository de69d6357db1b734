package io.github.dpucoordinator.cli;

import io.github.dpucoordinator.common.Ports;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import io.github.dpucoordinator.sim.Simulation;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/**
 * What the build runs under {@code -XX:ArchiveClassesAtExit} to make the class-data-sharing archives the launcher starts
 * the JVMs with: {@code cli} loads what a call to a running service loads (status and reboot to a service that is not
 * there: target/dpuctl-cli.jsa); {@code service} also what an NPU service, its journal and agents over both protocols load
 * (a small simulation: target/dpuctl-service.jsa); {@code agent} what a DPU agent loads to start and to answer a call
 * (target/dpuctl-agent.jsa: an archive of the agent's classes alone keeps the DPU's footprint small). Not for operators.
 */
@Command(name = "cds-training", hidden = true, mixinStandardHelpOptions = true, footer = ExitCodes.HELP,
    description = "Load the classes worth archiving for class-data sharing (the build runs it).")
final class CdsTrainingCommand implements Callable<Integer> {
  @picocli.CommandLine.Parameters(arity = "1", paramLabel = "cli|agent|service")
  String what;

  @Override
  public Integer call() throws Exception {
    if (what.equals("agent")) {
      return agent();
    }
    String nobody = "127.0.0.1:" + Ports.freeLoopbackPort();
    int unreachable = Main.run("status", "--admin", nobody);
    Main.run("reboot", "--admin", nobody, "--reason", "cds-training");
    // what a status call does with the service's answer: read it, print it as text and as JSON (a sample answer)
    try (var in = CdsTrainingCommand.class.getResourceAsStream("/cds-training-status.json");
        var sink = new java.io.PrintStream(java.io.OutputStream.nullOutputStream())) {
      com.fasterxml.jackson.databind.JsonNode sample = io.github.dpucoordinator.common.Json.read(new String(in.readAllBytes(),
          java.nio.charset.StandardCharsets.UTF_8));
      StatusText.print(sample, sink);
      sink.println(sample.toString());
    }
    if (what.equals("cli")) {
      return unreachable == ExitCodes.UNREACHABLE ? ExitCodes.OK : ExitCodes.DEGRADED;
    }
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(ch.qos.logback.classic.Level.WARN);
    for (String protocol : new String[] {DpuEndpoint.REBOOT_SERVICE, DpuEndpoint.GNOI}) {
      Simulation.Result r = Simulation.run(new Simulation.Options(2, 50, 0, 0, 20_000, 20_000, 1, protocol), v -> { });
      System.out.println("cds-training: " + protocol + " simulation " + r.outcome());
    }
    System.out.println("cds-training: status of a service that is not there: exit " + unreachable);
    return unreachable == ExitCodes.UNREACHABLE ? ExitCodes.OK : ExitCodes.DEGRADED;
  }

  /**
   * A DPU agent started as {@code dpuctl dpu} starts it, then stopped: what serving a call adds loads from the jar (a
   * client to call it with would put its own classes, some 2,600, into the agent's archive and its footprint).
   */
  private static int agent() throws Exception {
    com.typesafe.config.Config config = io.github.dpucoordinator.common.AppConfig.load();
    var settings = io.github.dpucoordinator.agent.settings.AgentSettings.create(config).withId("CDS").withPort(0);
    var system = Systems.create("dpu-agent", config);
    try {
      var running = Systems.await(io.github.dpucoordinator.agent.AgentServer.start(system, settings), java.time.Duration.ofSeconds(30));
      System.out.println("cds-training: agent listening on port " + running.port());
      return ExitCodes.OK;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
