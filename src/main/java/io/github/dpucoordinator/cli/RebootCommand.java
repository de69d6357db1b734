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


  @picocli.CommandLine.Mixin
  TlsOptions tls = new TlsOptions();

  @Option(names = "--cancel", description = "Cancel the campaign in flight, if it has not reached Reboot; halted DPUs are restarted "
      + "(dpu-coordinator.npu.cancel.restart-halted) and the answer says what became of each DPU.")
  boolean cancel;

  @Option(names = "--plan", description = "Print, without doing anything, the DPUs a campaign would touch, its worst-case "
      + "duration from the configured timeouts, retries and caps, and what stands in the way now.")
  boolean plan;

  @Option(names = "--json", description = "With --plan: print the plan as one JSON object.")
  boolean json;

  @Option(names = "--force", description = "Do not honour DPU deferrals (DEFER answers); protective states are still honoured.")
  boolean force;

  @Override
  public Integer call() {
    if (cancel && plan) {
      System.err.println("dpuctl reboot: --cancel and --plan do not go together");
      return ExitCodes.USAGE;
    }
    if (json && !plan) {
      System.err.println("dpuctl reboot: --json goes with --plan only (it would otherwise start a campaign); "
          + "use `dpuctl status --json` to follow one");
      return ExitCodes.USAGE;
    }
    if (cancel) {
      return AdminClient.run("reboot --cancel", admin, tls, (client, config) -> {
        StartCampaignResponse r = client.cancel(reason);
        if (!r.getAccepted()) {
          System.err.println("dpuctl reboot --cancel: refused: " + r.getMessage());
          return ExitCodes.REFUSED;
        }
        System.out.println(r.getMessage());
        return ExitCodes.OK;
      });
    }
    if (plan) {
      return AdminClient.run("reboot --plan", admin, tls, (client, config) -> {
        JsonNode p = client.plan(force);
        if (json) {
          System.out.println(p);
        } else {
          printPlan(p);
        }
        return ExitCodes.OK;
      });
    }
    if (!java.util.Set.of("cold", "warm", "power-off").contains(kind)) {
      System.err.println("dpuctl reboot: unknown --kind '" + kind + "'; expected one of cold, warm, power-off");
      return ExitCodes.USAGE;
    }
    return AdminClient.run("reboot", admin, tls, (client, config) -> {
      StartCampaignResponse started = client.start(reason, kind, force);
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
      try (Systems.Hook interrupted = Systems.onInterrupt("dpuctl reboot: stopped watching; campaign " + started.getCampaignId()
          + " goes on in the NPU service (`dpuctl status` follows it, `dpuctl reboot --cancel` cancels it before Reboot)")) {
        while (true) {
          JsonNode status = client.status();
          if (progress.update(status, System.currentTimeMillis())) {
            StatusText.dpuTable(status.path("lastCampaign"), System.out);
            return "success".equals(status.path("lastCampaign").path("outcome").asText()) ? ExitCodes.OK : ExitCodes.DEGRADED;
          }
          LockSupport.parkNanos(pollNanos);
        }
      }
    });
  }

  private static void printPlan(JsonNode p) {
    JsonNode w = p.path("worstCase");
    System.out.printf("A campaign now would notify %d DPU(s):%n", p.path("dpus").size());
    for (JsonNode d : p.path("dpus")) {
      System.out.printf("  %-10s %-22s %-15s budget %s%n", d.path("id").asText(), d.path("endpoint").asText(),
          d.path("protocol").asText(), seconds(d.path("budgetMillis").asLong()));
    }
    p.path("leftOut").forEach(l -> System.out.println("  left out: " + l.asText()));
    System.out.printf("Worst case: %s in all = prepare %s + shutdown %s + deferrals %s + protective states %s + escalation %s"
        + " + reboot %s + post-reboot %s%n",
        seconds(w.path("totalMillis").asLong()), seconds(w.path("prepareMillis").asLong()), seconds(w.path("shutdownMillis").asLong()),
        seconds(w.path("deferralMillis").asLong()), seconds(w.path("protectiveMillis").asLong()), seconds(w.path("escalationMillis").asLong()),
        seconds(w.path("rebootMillis").asLong()), seconds(w.path("postRebootMillis").asLong()));
    System.out.println("  (" + w.path("basis").asText() + ")");
    if (p.path("blockers").isEmpty()) {
      System.out.println("Blockers: none");
    } else {
      System.out.println("Blockers:");
      p.path("blockers").forEach(b -> System.out.println("  " + b.asText()));
    }
  }

  private static String seconds(long millis) {
    return String.format("%.1f s", millis / 1000.0);
  }
}
