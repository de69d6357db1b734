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

  @Option(names = "--dpus", paramLabel = "N", defaultValue = "8", description = "Number of DPUs (default ${DEFAULT-VALUE}; with --offload, 2).")
  int dpus;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

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

  @Option(names = "--offload", description = "Instead of a reboot: the DPU offloader. An NPU serving Containerz, DPU agents with offloaders and "
      + "two offloaded containers each; all started, one killed (SIGKILL) and restarted, one upgraded, one failed upgrade rolled back. "
      + "With --json: containers, started, restarted, upgraded, rolledBack, healthy.")
  boolean offload;

  @Option(names = "--verbose", description = "Show the service's INFO logs (on stderr).")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    if (!verbose) {
      ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
    }
    if (offload) {
      return offload();
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

  private int offload() throws Exception {
    // each simulated DPU runs an offloader of its own (an actor system and journal): 2 by default keeps it quick
    int dpus = spec.commandLine().getParseResult().hasMatchedOption("--dpus") ? this.dpus : 2;
    if (dpus < 1 || dpus > 64) {
      System.err.println("dpuctl simulate --offload: --dpus must be from 1 to 64, not " + dpus);
      return ExitCodes.USAGE;
    }
    PrintStream progressOut = json ? System.err : System.out;
    io.github.dpucoordinator.sim.OffloadSimulation.Result r;
    try {
      r = io.github.dpucoordinator.sim.OffloadSimulation.run(dpus, progressOut);
    } catch (IllegalStateException e) {
      System.err.println("dpuctl simulate --offload: " + e.getMessage());
      return ExitCodes.DEGRADED;
    }
    if (json) {
      ObjectNode out = Json.mapper().createObjectNode().put("dpus", r.dpus()).put("containers", r.containers()).put("started", r.started())
          .put("restarted", r.restarted()).put("upgraded", r.upgraded()).put("rolledBack", r.rolledBack()).put("healthy", r.healthy())
          .put("wallMillis", r.wallMillis());
      var per = out.putArray("perContainer");
      for (int i = 0; i < r.states().size(); i++) {
        var s = r.states().get(i);
        per.addObject().put("dpu", r.dpuOf().get(i)).put("name", s.getName()).put("image", s.getImage() + ":" + s.getTag())
            .put("health", s.getHealth()).put("previousTag", s.getPreviousTag()).put("failedVersions", String.join(",", s.getFailedVersionsList()));
      }
      System.out.println(out);
    } else {
      System.out.printf("%-6s %-10s %-22s %-9s %-9s %s%n", "DPU", "CONTAINER", "IMAGE", "HEALTH", "PREVIOUS", "FAILED VERSIONS");
      for (int i = 0; i < r.states().size(); i++) {
        var s = r.states().get(i);
        System.out.printf("%-6s %-10s %-22s %-9s %-9s %s%n", r.dpuOf().get(i), s.getName(), s.getImage() + ":" + s.getTag(), s.getHealth(),
            s.getPreviousTag().isEmpty() ? "-" : s.getPreviousTag(), s.getFailedVersionsCount() == 0 ? "-" : String.join(",", s.getFailedVersionsList()));
      }
      System.out.printf("Summary: %d DPU(s), %d offloaded container(s): %d started, %d restarted after a crash, %d upgraded, %d rolled back, "
          + "%d healthy at the end; %d ms%n", r.dpus(), r.containers(), r.started(), r.restarted(), r.upgraded(), r.rolledBack(), r.healthy(),
          r.wallMillis());
    }
    return r.asExpected() ? ExitCodes.OK : ExitCodes.DEGRADED;
  }
}
