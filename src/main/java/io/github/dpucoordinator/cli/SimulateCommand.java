package io.github.dpucoordinator.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.dpucoordinator.common.Json;
import io.github.dpucoordinator.npu.coordinator.StatusView;
import io.github.dpucoordinator.sim.Simulation;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = {"Run one coordinated-reboot campaign in one JVM: an NPU service and N real DPU agents on loopback ports.",
        "The NPU's reboot is a dry run; agents simulate their restart. Nothing on this machine is rebooted."},
    footer = ExitCodes.HELP)
final class SimulateCommand implements Callable<Integer> {

  @Option(names = "--dpus", paramLabel = "N", defaultValue = "8", description = "Number of DPUs (default ${DEFAULT-VALUE}).")
  int dpus;

  @Option(names = "--shutdown-ms", paramLabel = "T", defaultValue = "500", description = "Each DPU's simulated shutdown time (default ${DEFAULT-VALUE}).")
  long shutdownMs;

  @Option(names = "--unreachable", paramLabel = "K", defaultValue = "0", description = "How many DPUs have nothing listening on their port.")
  int unreachable;

  @Option(names = "--slow", paramLabel = "K", defaultValue = "0", description = "How many DPUs shut down slower than the deadline.")
  int slow;

  @Option(names = "--deadline-ms", paramLabel = "D", defaultValue = "3000",
      description = "How long each DPU has to complete its shutdown once it acknowledged (the halt timeout; default ${DEFAULT-VALUE}).")
  long deadlineMs;

  @Option(names = "--boot-wait-ms", paramLabel = "B", defaultValue = "3000", description = "Post-reboot wait for DPUs to be Listening (default ${DEFAULT-VALUE}).")
  long bootWaitMs;

  @Option(names = "--protocol", paramLabel = "P", defaultValue = "gnoi",
      description = "How the NPU speaks to the DPUs: gnoi (gnoi.system.System, default) or reboot-service (the seed's).")
  String protocol;

  @Option(names = "--campaigns", paramLabel = "M", defaultValue = "1", description = "Run M campaigns back to back and report the last (default ${DEFAULT-VALUE}).")
  int campaigns;

  @Option(names = "--json", description = "Print one JSON object (dpus, acked, completed, failed, notReady, outcome, wallMillis, ratio, wallMillisAll, "
      + "untilRebootMillisAll, perDpu) and nothing else on stdout.")
  boolean json;

  @Option(names = "--verbose", description = "Show the service's INFO logs (on stderr).")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    if (!verbose) {
      ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
    }
    Simulation.Options options;
    try {
      options = new Simulation.Options(dpus, shutdownMs, unreachable, slow, deadlineMs, bootWaitMs, campaigns, protocol);
    } catch (IllegalArgumentException e) {
      System.err.println("dpuctl simulate: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    ObjectMapper mapper = Json.mapper();
    PrintStream progressOut = json ? System.err : System.out;
    progressOut.printf("Simulating %d DPU(s) over %s (%d unreachable, %d slow), shutdown %d ms, deadline %d ms%n", dpus, protocol,
        unreachable, slow, shutdownMs, deadlineMs);
    Progress[] progress = new Progress[1];
    Simulation.Result r = Simulation.run(options, view -> {
      StatusView.CampaignView c = view.lastCampaign();
      if (c == null || !c.inFlight() && progress[0] == null) {
        return;
      }
      if (progress[0] == null || !progress[0].campaignId().equals(c.id())) {
        progress[0] = new Progress(progressOut, c.id(), c.startedAt());
      }
      progress[0].update(mapper.valueToTree(view), System.currentTimeMillis());
    });
    JsonNode campaign = mapper.valueToTree(r.status().lastCampaign());
    if (json) {
      ObjectNode out = mapper.createObjectNode();
      out.put("campaignId", r.campaignId()).put("dpus", r.dpus()).put("acked", r.acked()).put("completed", r.completed())
          .put("failed", r.failed()).put("notReady", r.notReady()).put("outcome", r.outcome())
          .put("wallMillis", r.wallMillis()).put("shutdownMs", r.shutdownMs()).put("ratio", r.ratio());
      r.wallMillisAll().forEach(out.putArray("wallMillisAll")::add);
      r.untilRebootMillisAll().forEach(out.putArray("untilRebootMillisAll")::add);
      out.set("perDpu", campaign.path("dpus"));
      System.out.println(out);
    } else {
      if (dpus <= 32) {
        StatusText.dpuTable(campaign, System.out);
      }
      System.out.printf("Summary: %d DPU(s), %d acknowledged, %d shut down, %d failed, %d not ready; outcome %s; "
          + "campaign wall time %d ms (%.2f x the %d ms shutdown)%n", r.dpus(), r.acked(), r.completed(), r.failed(),
          r.notReady(), r.outcome(), r.wallMillis(), r.ratio(), r.shutdownMs());
    }
    return "success".equals(r.outcome()) ? ExitCodes.OK : ExitCodes.DEGRADED;
  }
}
