package io.github.dpucoordinator.npu.containerz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransfer;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransferEnd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/** Containerz calls the tests share. */
public final class ContainerzCalls {
  private ContainerzCalls() {}

  /** Deploys {@code tarball} as {@code name:tag} in 1 MiB chunks and checks it was stored. */
  public static void deploy(ContainerzClient client, ActorTestKit kit, String name, String tag, Path tarball) throws Exception {
    byte[] bytes = Files.readAllBytes(tarball);
    List<DeployRequest> requests = new ArrayList<>(List.of(DeployRequest.newBuilder().setImageTransfer(ImageTransfer.newBuilder()
        .setName(name).setTag(tag).setImageSize(bytes.length)).build()));
    for (int at = 0; at < bytes.length; at += 1 << 20) {
      requests.add(DeployRequest.newBuilder().setContent(ByteString.copyFrom(bytes, at, Math.min(1 << 20, bytes.length - at))).build());
    }
    requests.add(DeployRequest.newBuilder().setImageTransferEnd(ImageTransferEnd.getDefaultInstance()).build());
    var answers = client.deploy(Source.from(requests)).runWith(Sink.seq(), kit.system()).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertTrue(answers.get(answers.size() - 1).hasImageTransferSuccess(), answers.toString());
  }
}
