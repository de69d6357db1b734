package io.github.dpucoordinator.npu.containerz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.proto.gnoi.common.RemoteDownload;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.CreateVolumeRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransfer;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransferEnd;
import io.github.dpucoordinator.proto.gnoi.containerz.ListImageRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListImageResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.RemoveImageRequest;
import io.github.dpucoordinator.sim.ImageTarballs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * gNOI Containerz's image calls over a real gRPC server on loopback, with a client generated from the proto: a Deploy
 * streamed in chunks is answered Ready, a Progress per chunk and Success, and is then listed with its id and removable;
 * bad streams get the protocol's status codes and leave nothing in the store; volumes are not offered, and say so.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerzServiceTest {
  private final ActorTestKit kit = ActorTestKit.create("containerz", AppConfig.load());
  @TempDir
  static Path dir;
  private ServerBinding binding;
  private ContainerzClient client;

  @BeforeAll
  void serve() throws Exception {
    ContainerzSettings settings = ContainerzSettings.of(AppConfig.with(AppConfig.with(kit.system().settings().config(),
        ContainerzSettings.KEY + ".chunk-size", "4KiB"), ContainerzSettings.KEY + ".max-image-size", "64MiB"), dir);
    binding = GrpcServers.bind(kit.system(), "127.0.0.1", 0, List.of(ContainerzServer.open(kit.system(), settings, java.util.Set.of()).service()))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    client = ContainerzClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", binding.localAddress().getPort(), kit.system())
        .withTls(false), kit.system());
  }

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  private static DeployRequest transfer(String name, String tag, long size) {
    return DeployRequest.newBuilder().setImageTransfer(ImageTransfer.newBuilder().setName(name).setTag(tag).setImageSize(size)).build();
  }

  private static List<DeployRequest> chunks(byte[] bytes, int chunk) {
    List<DeployRequest> out = new ArrayList<>();
    for (int at = 0; at < bytes.length; at += chunk) {
      out.add(DeployRequest.newBuilder().setContent(ByteString.copyFrom(Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + chunk))))
          .build());
    }
    return out;
  }

  private static final DeployRequest END = DeployRequest.newBuilder().setImageTransferEnd(ImageTransferEnd.getDefaultInstance()).build();

  private List<DeployResponse> deploy(List<DeployRequest> requests) throws Exception {
    return client.deploy(Source.from(requests)).runWith(Sink.seq(), kit.system()).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static Status.Code code(Throwable t) {
    Throwable c = t instanceof ExecutionException ? t.getCause() : t;
    assertTrue(c instanceof StatusRuntimeException, String.valueOf(c));
    return ((StatusRuntimeException) c).getStatus().getCode();
  }

  private Status.Code failing(List<DeployRequest> requests) {
    return code(assertThrows(ExecutionException.class, () -> deploy(requests)));
  }

  private List<ListImageResponse> images() throws Exception {
    return client.listImage(ListImageRequest.getDefaultInstance()).runWith(Sink.seq(), kit.system()).toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  @Test
  void aDeployStreamedInChunksIsStoredListedAndRemoved() throws Exception {
    Path tarball = ImageTarballs.write(dir.resolve("redis.tar"), "offload/redis", "7.2", java.util.Map.of("data", "x".repeat(20_000)),
        e -> e);
    byte[] bytes = Files.readAllBytes(tarball);
    List<DeployRequest> requests = new ArrayList<>(List.of(transfer("offload/redis", "7.2", bytes.length)));
    requests.addAll(chunks(bytes, 4096));
    requests.add(END);
    List<DeployResponse> answers = deploy(requests);
    assertEquals(4096, answers.get(0).getImageTransferReady().getChunkSize());
    assertEquals(requests.size() - 2, answers.stream().filter(DeployResponse::hasImageTransferProgress).count());
    assertEquals(bytes.length, answers.get(answers.size() - 2).getImageTransferProgress().getBytesReceived());
    DeployResponse success = answers.get(answers.size() - 1);
    assertEquals("offload/redis", success.getImageTransferSuccess().getName());
    assertEquals("7.2", success.getImageTransferSuccess().getTag());
    assertEquals(bytes.length, success.getImageTransferSuccess().getImageSize());

    List<ListImageResponse> listed = images();
    assertEquals(1, listed.size());
    assertEquals("sha256:" + ImageTarballs.configDigest(tarball), listed.get(0).getId());
    assertEquals("offload/redis", listed.get(0).getImageName());
    assertEquals("7.2", listed.get(0).getTag());

    client.removeImage(RemoveImageRequest.newBuilder().setName("offload/redis").setTag("7.2").build()).toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    assertEquals(List.of(), images());
    CompletionStage<?> again = client.removeImage(RemoveImageRequest.newBuilder().setName("offload/redis").setTag("7.2").build());
    assertEquals(Status.Code.NOT_FOUND, code(assertThrows(ExecutionException.class, () -> again.toCompletableFuture().get(10, TimeUnit.SECONDS))));
  }

  @Test
  void badDeploysGetTheProtocolsCodesAndLeaveNothing() throws Exception {
    byte[] bytes = Files.readAllBytes(ImageTarballs.write(dir.resolve("app.tar"), "app", "1"));
    // not starting with ImageTransfer
    assertEquals(Status.Code.INVALID_ARGUMENT, failing(chunks(bytes, 4096)));
    // more bytes than announced
    List<DeployRequest> tooMany = new ArrayList<>(List.of(transfer("app", "1", bytes.length - 10)));
    tooMany.addAll(chunks(bytes, 4096));
    tooMany.add(END);
    assertEquals(Status.Code.INVALID_ARGUMENT, failing(tooMany));
    // the stream ends before ImageTransferEnd
    List<DeployRequest> cut = new ArrayList<>(List.of(transfer("app", "1", bytes.length)));
    cut.addAll(chunks(Arrays.copyOf(bytes, 1000), 500));
    assertEquals(Status.Code.INVALID_ARGUMENT, failing(cut));
    // a name that would leave the store
    assertEquals(Status.Code.INVALID_ARGUMENT, failing(List.of(transfer("../etc", "1", 10), END)));
    // larger than the store takes
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, failing(List.of(transfer("app", "1", 1L << 40), END)));
    // the server downloading the image itself is not offered
    assertEquals(Status.Code.UNIMPLEMENTED, failing(List.of(DeployRequest.newBuilder().setImageTransfer(ImageTransfer.newBuilder()
        .setName("app").setTag("1").setImageSize(10).setRemoteDownload(RemoteDownload.newBuilder().setPath("http://x/app.tar"))).build())));
    // a chunk larger than the chunk size the server asked for
    List<DeployRequest> huge = new ArrayList<>(List.of(transfer("app", "1", 5 << 20)));
    huge.add(DeployRequest.newBuilder().setContent(ByteString.copyFrom(new byte[5000])).build());
    huge.add(END);
    assertEquals(Status.Code.INVALID_ARGUMENT, failing(huge));
    // a message above gRPC's 4 MiB (dpu-coordinator.grpc.max-message-size), streamed or alone: refused before it is gathered
    List<DeployRequest> oversized = new ArrayList<>(List.of(transfer("app", "1", 8 << 20)));
    oversized.add(DeployRequest.newBuilder().setContent(ByteString.copyFrom(new byte[6 << 20])).build());
    oversized.add(END);
    ExecutionException tooLarge = assertThrows(ExecutionException.class, () -> deploy(oversized));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, code(tooLarge));
    assertTrue(((StatusRuntimeException) tooLarge.getCause()).getStatus().getDescription().contains("dpu-coordinator.grpc.max-message-size"),
        tooLarge.getCause().toString());
    ExecutionException unary = assertThrows(ExecutionException.class, () -> client.removeImage(RemoveImageRequest.newBuilder()
        .setName("x".repeat(5 << 20)).setTag("1").build()).toCompletableFuture().get(30, TimeUnit.SECONDS));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, code(unary));
    assertEquals(List.of(), images());
    try (var left = Files.walk(dir.resolve("containerz").resolve("incoming"))) {
      assertEquals(List.of(), left.filter(Files::isRegularFile).toList());
    }
  }

  @Test
  void volumesAreNotOfferedAndSaySo() {
    ExecutionException volume = assertThrows(ExecutionException.class, () -> client.createVolume(CreateVolumeRequest.newBuilder()
        .setName("v").build()).toCompletableFuture().get(10, TimeUnit.SECONDS));
    assertEquals(Status.Code.UNIMPLEMENTED, code(volume));
    assertTrue(((StatusRuntimeException) volume.getCause()).getStatus().getDescription().contains("volumes are not supported"));
  }
}
