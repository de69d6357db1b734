package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.proto.admin.ModuleResponse;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dpuctl chassis ...`, named after SONiC's `config chassis module` and `show chassis modules`. */
@Command(name = "chassis", mixinStandardHelpOptions = true, description = "Single-DPU graceful shutdown and startup.",
    subcommands = {ChassisCommand.ModuleCmd.class, ChassisCommand.ModulesCmd.class}, footer = ExitCodes.HELP)
final class ChassisCommand {

  @Command(name = "module", mixinStandardHelpOptions = true, description = "Shut one DPU down gracefully, or start it up.",
      subcommands = {Shutdown.class, Startup.class}, footer = ExitCodes.HELP)
  static final class ModuleCmd {}

  @Command(name = "modules", mixinStandardHelpOptions = true, description = "Show the DPUs as chassis modules.",
      subcommands = {Status.class}, footer = ExitCodes.HELP)
  static final class ModulesCmd {}

  /** What shutdown and startup share. */
  abstract static class Transition implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DPU", description = "The DPU id, e.g. DPU0.")
    String dpu;

    @Option(names = "--reason", paramLabel = "R", defaultValue = "operator request", description = "Why (kept in the DPU's history).")
    String reason;

    @Option(names = "--wait", description = "Wait until the transition has finished; exit 1 unless it ended ok.")
    boolean waitForEnd;

    @Option(names = "--force", description = "Run it even if the DPU is already administratively there (down, or up); "
        + "without it that is answered 'already down/up' and nothing is done.")
    boolean force;

    @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Admin API address (default: dpu-coordinator.cli.admin-address).")
    String admin;


    @picocli.CommandLine.Mixin
    TlsOptions tls = new TlsOptions();

    abstract String kind();

    @Override
    public Integer call() {
      String command = "chassis module " + kind();
      return AdminClient.run(command, admin, tls, (client, config) -> {
        ModuleResponse r = client.module(kind(), dpu, reason, force);
        if (!r.getAccepted()) {
          System.err.println("dpuctl " + command + ": refused: " + r.getMessage());
          return ExitCodes.REFUSED;
        }
        System.out.println(r.getMessage());
        JsonNode m = module(client.status(), dpu);
        if (!m.path("containers").isEmpty()) {
          System.out.println(dpu + " containers on the NPU (they keep running): " + containers(m));
        }
        if (!waitForEnd || r.getTransitionId().isEmpty()) {
          return ExitCodes.OK; // started, or nothing to do: already there
        }
        long pollNanos = config.getDuration("dpu-coordinator.cli.poll-interval").toNanos();
        try (Systems.Hook interrupted = Systems.onInterrupt("dpuctl " + command + ": stopped watching; transition "
            + r.getTransitionId() + " of " + dpu + " goes on in the NPU service (`dpuctl chassis modules status` follows it)")) {
          return watch(client, r, pollNanos);
        }
      });
    }

    private int watch(AdminClient client, ModuleResponse r, long pollNanos) throws AdminClient.Unreachable {
      String phase = "";
      while (true) {
        JsonNode m = module(client.status(), dpu);
        JsonNode t = m.path("transition");
        if (t.isMissingNode() || t.isNull() || !t.path("id").asText().equals(r.getTransitionId())) {
          System.out.println(dpu + ": " + m.path("lastOutcome").asText());
          String outcome = m.path("lastOutcome").asText();
          // refused: the DPU was left as it was (a protective state); otherwise not ok means degraded
          return outcome.startsWith("ok") ? ExitCodes.OK : outcome.startsWith("refused") ? ExitCodes.REFUSED : ExitCodes.DEGRADED;
        }
        if (!t.path("phase").asText().equals(phase)) {
          phase = t.path("phase").asText();
          System.out.println(dpu + ": " + phase);
        }
        LockSupport.parkNanos(pollNanos);
      }
    }
  }

  @Command(name = "shutdown", mixinStandardHelpOptions = true, footer = ExitCodes.HELP,
      description = {"Gracefully shut one DPU down: gNOI Reboot HALT (or the seed's signal), wait for the halt, then run its "
          + "power-off command (dpu-coordinator.npu.module.power-off-command; a dry run by default)."})
  static final class Shutdown extends Transition {
    @Override
    String kind() {
      return "shutdown";
    }
  }

  @Command(name = "startup", mixinStandardHelpOptions = true, footer = ExitCodes.HELP,
      description = {"Start one DPU: run its power-on command (dpu-coordinator.npu.module.power-on-command; a dry run by default), "
          + "then wait (dpu-coordinator.npu.module.boot-wait) until it answers and is Listening."})
  static final class Startup extends Transition {
    @Override
    String kind() {
      return "startup";
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true, footer = ExitCodes.HELP,
      description = "Each DPU's admin state, transition in flight, last outcome and recent reboot causes.")
  static final class Status implements Callable<Integer> {
    @Option(names = "--json", description = "Print the modules as one JSON array.")
    boolean json;

    @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Admin API address (default: dpu-coordinator.cli.admin-address).")
    String admin;


    @picocli.CommandLine.Mixin
    TlsOptions tls = new TlsOptions();

    @Override
    public Integer call() {
      return AdminClient.run("chassis modules status", admin, tls, (client, config) -> {
        JsonNode status = client.status();
        if (json) {
          System.out.println(status.path("modules").toString());
        } else {
          print(status, System.out);
        }
        return ExitCodes.OK;
      });
    }
  }

  static JsonNode module(JsonNode status, String dpu) {
    for (JsonNode m : status.path("modules")) {
      if (m.path("id").asText().equals(dpu)) {
        return m;
      }
    }
    throw new IllegalArgumentException("no DPU '" + dpu + "' in the service's status");
  }

  static void print(JsonNode status, PrintStream out) {
    out.printf("%-10s %-22s %-15s %-6s %-34s %s%n", "NAME", "ENDPOINT", "PROTOCOL", "ADMIN", "TRANSITION", "LAST OUTCOME");
    for (JsonNode m : status.path("modules")) {
      JsonNode t = m.path("transition");
      String transition = t.isMissingNode() || t.isNull() ? "-" : t.path("kind").asText() + " " + t.path("phase").asText();
      out.printf("%-10s %-22s %-15s %-6s %-34s %s%n", m.path("id").asText(), m.path("endpoint").asText(), m.path("protocol").asText(),
          m.path("adminState").asText(), transition, m.path("lastOutcome").asText().isEmpty() ? "-" : m.path("lastOutcome").asText());
    }
    for (JsonNode m : status.path("modules")) {
      if (!m.path("containers").isEmpty()) {
        out.println(m.path("id").asText() + " containers on the NPU: " + containers(m));
      }
    }
    StatusText.history(status.path("history"), "Reboot history (latest 3 per DPU):", out);
  }

  /** A module's offloaded containers, as one line: "redis (offload/redis:7.2, RUNNING), ...". */
  static String containers(JsonNode module) {
    java.util.List<String> each = new java.util.ArrayList<>();
    module.path("containers").forEach(c -> each.add(c.path("name").asText() + " (" + c.path("image").asText() + ", " + c.path("status").asText() + ")"));
    return String.join(", ", each);
  }
}
