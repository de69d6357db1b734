package io.github.dpucoordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.github.dpucoordinator.common.ContainerzUpload;

import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransferSuccess;
import io.github.dpucoordinator.proto.gnoi.containerz.ListImageRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListImageResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveImageRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.pekko.stream.javadsl.Sink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `dpuctl containerz image push|list|remove`, with the reference containerz CLI's verbs and flags. */
@Command(name = "image", mixinStandardHelpOptions = true, description = "Images on a Containerz server.",
    subcommands = {ContainerzImageCommand.Push.class, ContainerzImageCommand.ListCmd.class, ContainerzImageCommand.Remove.class},
    footer = ExitCodes.HELP)
final class ContainerzImageCommand {
  static final ObjectMapper JSON = new ObjectMapper();

  abstract static class Target {
    @Option(names = "--address", paramLabel = "HOST:PORT", description = "Containerz address (default: dpu-coordinator.cli.containerz-address).")
    String address;

    @picocli.CommandLine.Mixin
    TlsOptions tls = new TlsOptions();
  }

  /** A server and an image on it. */
  abstract static class ImageTarget extends Target {
    @Option(names = "--image", required = true, paramLabel = "NAME", description = "Image name, e.g. offload/redis.")
    String image;

    @Option(names = "--tag", defaultValue = "latest", paramLabel = "TAG", description = "Image tag (default: latest).")
    String tag;
  }

  @Command(name = "push", mixinStandardHelpOptions = true, description = "Deploy an image tarball (docker save) to the server.",
      footer = ExitCodes.HELP)
  static final class Push extends ImageTarget implements Callable<Integer> {
    @Option(names = "--file", required = true, paramLabel = "FILE", description = "The tarball, as `docker save` writes it.")
    Path file;

    @Override
    public Integer call() {
      if (!Files.isRegularFile(file)) {
        System.err.println("dpuctl containerz image push: no such file: " + file);
        return ExitCodes.USAGE;
      }
      return ContainerzCli.run("containerz image push", address, tls, cli -> {
        long size = Files.size(file);
        long[] shown = {-1};
        ImageTransferSuccess done = cli.await(ContainerzUpload.deploy(cli.client, cli.system, file, image, tag, received -> {
          long tenth = size == 0 ? 10 : received * 10 / size;
          if (tenth != shown[0]) {
            shown[0] = tenth;
            System.err.printf("pushed %.1f of %.1f MiB%n", received / 1048576.0, size / 1048576.0);
          }
        }));
        System.out.printf("%s:%s pushed (%d bytes)%n", done.getName(), done.getTag(), done.getImageSize());
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the server's images.", footer = ExitCodes.HELP)
  static final class ListCmd extends Target implements Callable<Integer> {
    @Option(names = "--json", description = "One JSON array instead of a table.")
    boolean json;

    @Override
    public Integer call() {
      return ContainerzCli.run("containerz image list", address, tls, cli -> {
        List<ListImageResponse> images = cli.await(cli.client.listImage(ListImageRequest.getDefaultInstance()).runWith(Sink.seq(), cli.system));
        if (json) {
          ArrayNode out = JSON.createArrayNode();
          images.forEach(i -> out.addObject().put("name", i.getImageName()).put("tag", i.getTag()).put("id", i.getId()));
          System.out.println(out.toPrettyString());
        } else {
          System.out.printf("%-40s %-20s %s%n", "IMAGE", "TAG", "ID");
          images.forEach(i -> System.out.printf("%-40s %-20s %s%n", i.getImageName(), i.getTag(), i.getId()));
        }
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove an image (not while a container uses it).",
      footer = ExitCodes.HELP)
  static final class Remove extends ImageTarget implements Callable<Integer> {
    @Option(names = "--force", description = "Remove it even though stopped containers use it.")
    boolean force;

    @Override
    public Integer call() {
      return ContainerzCli.run("containerz image remove", address, tls, cli -> {
        cli.await(cli.client.removeImage(RemoveImageRequest.newBuilder().setName(image).setTag(tag).setForce(force).build()));
        System.out.println(image + ":" + tag + " removed");
        return ExitCodes.OK;
      });
    }
  }
}
