package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.proto.admin.StartCampaignResponse;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "reboot", mixinStandardHelpOptions = true,
    description = {"Start a coordinated reboot campaign through the NPU service's admin API.",
        "Every DPU is told first and given time to shut down gracefully; then the NPU's reboot action runs."},
    footer = ExitCodes.HELP)
final class RebootCommand implements Callable<Integer> {

  @Option(names = "--reason", paramLabel = "R", defaultValue = "operator request", description = "Why (recorded in every DPU's history).")
  String reason;

  @Option(names = "--kind", paramLabel = "KIND", defaultValue = "cold", description = "cold, warm or power-off (default ${DEFAULT-VALUE}).")
  String kind;

  @Option(names = "--wait", description = "Show live per-DPU progress until the campaign ends; exit 1 if it ends degraded.")
  boolean waitForEnd;

  @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Admin API address (default: dpu-coordinator.cli.admin-address).")
  String admin;

  @Override
  public Integer call() {
    if (!java.util.Set.of("cold", "warm", "power-off").contains(kind)) {
      System.err.println("dpuctl reboot: unknown --kind '" + kind + "'; expected one of cold, warm, power-off");
      return ExitCodes.USAGE;
    }
    return AdminClient.run("reboot", admin, (client, config) -> {
      StartCampaignResponse started = client.start(reason, kind);
      if (!started.getAccepted()) {
        System.err.println("dpuctl reboot: refused: " + started.getMessage());
        return ExitCodes.REFUSED;
      }
      System.out.println(started.getMessage());
      if (!waitForEnd) {
        return ExitCodes.OK;
      }
      long start = System.currentTimeMillis();
      long pollNanos = config.getDuration("dpu-coordinator.cli.poll-interval").toNanos();
      Progress progress = new Progress(System.out, started.getCampaignId(), start);
      while (true) {
        JsonNode status = client.status();
        if (progress.update(status, System.currentTimeMillis())) {
          StatusText.dpuTable(status.path("lastCampaign"), System.out);
          return "success".equals(status.path("lastCampaign").path("outcome").asText()) ? ExitCodes.OK : ExitCodes.DEGRADED;
        }
        LockSupport.parkNanos(pollNanos);
      }
    });
  }
}
