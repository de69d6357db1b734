package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListContainerResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.LogRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.StopContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateContainerRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.UpdateContainerResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.pekko.stream.javadsl.Sink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `dpuctl containerz container start|stop|list|logs|remove|update`, with the reference containerz CLI's verbs and flags. */
@Command(name = "container", mixinStandardHelpOptions = true, description = "Containers on a Containerz server.",
    subcommands = {ContainerzContainerCommand.Start.class, ContainerzContainerCommand.Stop.class, ContainerzContainerCommand.ListCmd.class,
        ContainerzContainerCommand.Logs.class, ContainerzContainerCommand.Remove.class, ContainerzContainerCommand.Update.class},
    footer = ExitCodes.HELP)
final class ContainerzContainerCommand {

  /** What start and update share: the container's parameters. */
  abstract static class Params extends ContainerzImageCommand.ImageTarget {
    @Option(names = "--instance", paramLabel = "NAME", description = "Instance name (start: made up when absent).")
    String instance = "";

    @Option(names = "--cmd", paramLabel = "CMD", description = "Command replacing the image's (split at spaces).")
    String cmd = "";

    @Option(names = "--port", paramLabel = "INT:EXT", description = "A port, internal:external; repeatable.")
    List<String> ports = new ArrayList<>();

    @Option(names = "--env", paramLabel = "K=V", description = "An environment variable; repeatable.")
    List<String> env = new ArrayList<>();

    @Option(names = {"--labels", "--label"}, paramLabel = "K=V", description = "A label; repeatable.")
    List<String> labels = new ArrayList<>();

    @Option(names = "--dpu", paramLabel = "DPU", description = "The DPU it runs for (the label dpu=DPU).")
    String dpu;

    @Option(names = "--restart_policy", paramLabel = "POLICY", defaultValue = "none",
        description = "none, always, unless-stopped or on-failure[:max] (default: none).")
    String restart;

    @Option(names = "--run_as", paramLabel = "UID[:GID]", description = "Who it runs as (root only where the server allows it).")
    String runAs;

    @Spec
    CommandSpec spec;

    StartContainerRequest request() {
      StartContainerRequest.Builder b = StartContainerRequest.newBuilder().setImageName(image).setTag(tag).setInstanceName(instance).setCmd(cmd);
      for (String p : ports) {
        String[] ie = p.split(":");
        Options.require(spec, ie.length <= 2 && ie[0].matches("\\d+") && (ie.length == 1 || ie[1].matches("\\d+")), "--port " + p + " is not INT:EXT");
        b.addPorts(StartContainerRequest.Port.newBuilder().setInternal(Integer.parseInt(ie[0])).setExternal(Integer.parseInt(ie[ie.length - 1])));
      }
      env.forEach(kv -> b.putEnvironment(key(kv, "--env"), value(kv)));
      labels.forEach(kv -> b.putLabels(key(kv, "--labels"), value(kv)));
      if (dpu != null) {
        b.putLabels("dpu", dpu);
      }
      String[] policy = restart.split(":", 2);
      StartContainerRequest.Restart.Policy p = switch (policy[0]) {
        case "none" -> StartContainerRequest.Restart.Policy.NONE;
        case "always" -> StartContainerRequest.Restart.Policy.ALWAYS;
        case "unless-stopped" -> StartContainerRequest.Restart.Policy.UNLESS_STOPPED;
        case "on-failure" -> StartContainerRequest.Restart.Policy.ON_FAILURE;
        default -> null;
      };
      Options.require(spec, p != null && (policy.length == 1 || policy[1].matches("\\d+")), "--restart_policy " + restart
          + " is not none, always, unless-stopped or on-failure[:max]");
      b.setRestart(StartContainerRequest.Restart.newBuilder().setPolicy(p).setAttempts(policy.length > 1 ? Integer.parseInt(policy[1]) : 0));
      if (runAs != null) {
        String[] ug = runAs.split(":", 2);
        b.setRunAs(StartContainerRequest.RunAs.newBuilder().setUser(ug[0]).setGroup(ug.length > 1 ? ug[1] : ""));
      }
      return b.build();
    }

    private String key(String kv, String option) {
      Options.require(spec, kv.indexOf('=') > 0, option + " " + kv + " is not K=V");
      return kv.substring(0, kv.indexOf('='));
    }

    private static String value(String kv) {
      return kv.substring(kv.indexOf('=') + 1);
    }
  }

  @Command(name = "start", mixinStandardHelpOptions = true, description = "Start a container from a deployed image.", footer = ExitCodes.HELP)
  static final class Start extends Params implements Callable<Integer> {
    @Override
    public Integer call() {
      StartContainerRequest r = request();
      return ContainerzCli.run("containerz container start", address, tls, cli -> {
        System.out.println(cli.await(cli.client.startContainer(r)).getStartOk().getInstanceName() + " started");
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "update", mixinStandardHelpOptions = true, description = {"Replace a container with another image or tag "
      + "(stopped first; if the new one does not keep running, the old one is started again and the command fails)."}, footer = ExitCodes.HELP)
  static final class Update extends Params implements Callable<Integer> {
    @Option(names = "--async", description = "Do not wait for the update to finish.")
    boolean async;

    @Override
    public Integer call() {
      Options.require(spec, !instance.isEmpty(), "update needs --instance");
      UpdateContainerRequest r = UpdateContainerRequest.newBuilder().setInstanceName(instance).setImageName(image).setImageTag(tag)
          .setParams(request()).setAsync(async).build();
      return ContainerzCli.run("containerz container update", address, tls, cli -> {
        UpdateContainerResponse u = cli.await(cli.client.updateContainer(r));
        System.out.println(u.getUpdateOk().getInstanceName() + (u.getUpdateOk().getIsAsync() ? " being updated to " : " updated to ") + image + ":" + tag);
        return ExitCodes.OK;
      });
    }
  }

  abstract static class Instance extends ContainerzImageCommand.Target {
    @Option(names = "--instance", required = true, paramLabel = "NAME", description = "Instance name.")
    String instance;
  }

  @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop a container: SIGTERM, then SIGKILL after the grace.",
      footer = ExitCodes.HELP)
  static final class Stop extends Instance implements Callable<Integer> {
    @Option(names = "--force", description = "SIGKILL at once.")
    boolean force;

    @Option(names = "--restart", description = "Start it again once stopped.")
    boolean restart;

    @Override
    public Integer call() {
      return ContainerzCli.run("containerz container stop", address, tls, cli -> {
        cli.await(cli.client.stopContainer(StopContainerRequest.newBuilder().setInstanceName(instance).setForce(force).setRestart(restart).build()));
        System.out.println(instance + (restart ? " restarted" : " stopped"));
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove a container (a running one only with --force).",
      footer = ExitCodes.HELP)
  static final class Remove extends Instance implements Callable<Integer> {
    @Option(names = "--force", description = "Kill it first if it runs.")
    boolean force;

    @Override
    public Integer call() {
      return ContainerzCli.run("containerz container remove", address, tls, cli -> {
        cli.await(cli.client.removeContainer(RemoveContainerRequest.newBuilder().setName(instance).setForce(force).build()));
        System.out.println(instance + " removed");
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "logs", mixinStandardHelpOptions = true, description = "A container's output.", footer = ExitCodes.HELP)
  static final class Logs extends Instance implements Callable<Integer> {
    @Option(names = "--follow", description = "Keep printing what it writes until it stops (or Ctrl-C).")
    boolean follow;

    @Override
    public Integer call() {
      return ContainerzCli.run("containerz container logs", address, tls, cli -> {
        cli.await(cli.client.log(LogRequest.newBuilder().setInstanceName(instance).setFollow(follow).build())
            .runWith(Sink.foreach(l -> System.out.println(l.getMsg())), cli.system));
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List running containers (--all: all).", footer = ExitCodes.HELP)
  static final class ListCmd extends ContainerzImageCommand.Target implements Callable<Integer> {
    @Option(names = "--all", description = "Stopped ones too.")
    boolean all;

    @Option(names = "--filter", paramLabel = "KEY=VALUE", description = "name=, image= or label=K[=V]; repeatable.")
    List<String> filters = new ArrayList<>();

    @Option(names = "--json", description = "One JSON array instead of a table.")
    boolean json;

    @Override
    public Integer call() {
      ListContainerRequest.Builder b = ListContainerRequest.newBuilder().setAll(all);
      for (String f : filters) {
        int eq = f.indexOf('=');
        b.addFilter(ListContainerRequest.Filter.newBuilder().setKey(eq < 0 ? f : f.substring(0, eq)).addValue(eq < 0 ? "" : f.substring(eq + 1)));
      }
      return ContainerzCli.run("containerz container list", address, tls, cli -> {
        List<ListContainerResponse> found = cli.await(cli.client.listContainer(b.build()).runWith(Sink.seq(), cli.system));
        if (json) {
          ArrayNode out = ContainerzImageCommand.JSON.createArrayNode();
          for (ListContainerResponse c : found) {
            ObjectNode o = out.addObject().put("name", c.getName()).put("id", c.getId()).put("image", c.getImageName()).put("status", c.getStatus().name());
            c.getLabelsMap().forEach((k, v) -> o.with("labels").put(k, v));
          }
          System.out.println(out.toPrettyString());
        } else {
          System.out.printf("%-24s %-32s %-8s %s%n", "NAME", "IMAGE", "STATUS", "DPU");
          found.forEach(c -> System.out.printf("%-24s %-32s %-8s %s%n", c.getName(), c.getImageName(), c.getStatus().name(),
              c.getLabelsMap().getOrDefault("dpu", "-")));
        }
        return ExitCodes.OK;
      });
    }
  }
}
