package io.github.dpucoordinator.common;

import com.google.protobuf.ByteString;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransfer;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransferEnd;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransferSuccess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongConsumer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A Containerz Deploy of a tarball on disk, as the protocol has it: ImageTransfer, then the file in chunks of the size
 * the server's Ready asks for (read from disk as they are sent, never whole in memory), then ImageTransferEnd.
 */
public final class ContainerzUpload {
  private ContainerzUpload() {}

  /** Deploys {@code file} as {@code name:tag}; {@code progress} hears the bytes the server has taken. */
  public static CompletionStage<ImageTransferSuccess> deploy(ContainerzClient client, ActorSystem<?> system, Path file, String name, String tag,
      LongConsumer progress) {
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Integer> chunkSize = new CompletableFuture<>();
    Source<DeployRequest, NotUsed> requests = Source.single(DeployRequest.newBuilder().setImageTransfer(ImageTransfer.newBuilder()
            .setName(name).setTag(tag).setImageSize(size)).build())
        .concat(Source.completionStageSource(chunkSize.thenApply(chunk -> FileIO.fromPath(file, chunk)
            .map(bytes -> DeployRequest.newBuilder().setContent(ByteString.copyFrom(bytes.toArray())).build())
            .concat(Source.single(DeployRequest.newBuilder().setImageTransferEnd(ImageTransferEnd.getDefaultInstance()).build())))))
        .mapMaterializedValue(m -> NotUsed.getInstance());
    return client.deploy(requests).map(r -> {
      if (r.hasImageTransferReady()) {
        chunkSize.complete(r.getImageTransferReady().getChunkSize());
      } else if (r.hasImageTransferProgress()) {
        progress.accept(r.getImageTransferProgress().getBytesReceived());
      }
      return r;
    }).runWith(Sink.last(), system).thenApply(ContainerzUpload::success);
  }

  private static ImageTransferSuccess success(DeployResponse last) {
    if (!last.hasImageTransferSuccess()) {
      throw new IllegalStateException("the server ended the Deploy without a success: " + last);
    }
    return last.getImageTransferSuccess();
  }
}
