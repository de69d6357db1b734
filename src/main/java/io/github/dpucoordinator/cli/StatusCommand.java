package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show the NPU service's phase, the current or last campaign with each DPU, recent campaigns and DPU reboot history.",
    footer = ExitCodes.HELP)
final class StatusCommand implements Callable<Integer> {

  @Option(names = "--json", description = "Print one JSON object: phase, lastCampaign {id, outcome, dpus [{id, state, outcome, ...}]}, recent, history.")
  boolean json;

  @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Admin API address (default: dpu-coordinator.cli.admin-address).")
  String admin;


  @picocli.CommandLine.Mixin
  TlsOptions tls = new TlsOptions();

  @Override
  public Integer call() {
    return AdminClient.run("status", admin, tls, (client, config) -> {
      JsonNode status = client.status();
      if (json) {
        System.out.println(status.toString());
      } else {
        StatusText.print(status, System.out);
      }
      return ExitCodes.OK;
    });
  }
}
