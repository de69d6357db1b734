package io.github.dpucoordinator.npu.containerz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzClient;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.DeployResponse;
import io.github.dpucoordinator.proto.gnoi.containerz.ImageTransfer;
import io.github.dpucoordinator.proto.gnoi.containerz.ListImageRequest;
import io.github.dpucoordinator.proto.gnoi.containerz.ListImageResponse;
import io.github.dpucoordinator.sim.ImageTarballs;
import io.grpc.Status;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk that fills up in the middle of a Deploy: the store lives on a tmpfs of its own (8 MiB, mounted by the test,
 * so it needs root: {@code -Psystem-tools}), which the test fills once the upload has been accepted. The Deploy is
 * answered RESOURCE_EXHAUSTED saying so, nothing of it is left, the image stored before is intact, and once there is
 * room again the next Deploy succeeds on the same server.
 */
@Tag("needs-root")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ContainerzFullDiskTest {
  private final ActorTestKit kit = ActorTestKit.create("full-disk", AppConfig.load());
  @TempDir
  static Path tmp;
  private Path disk;
  private ContainerzClient client;

  @BeforeAll
  void mountASmallDisk() throws Exception {
    assertEquals("root", System.getProperty("user.name"), "mounting the test's tmpfs needs root (run -Psystem-tools as root)");
    disk = Files.createDirectories(tmp.resolve("disk"));
    run("mount", "-t", "tmpfs", "-o", "size=8m", "dpuc-full-disk-test", disk.toString());
    var settings = ContainerzSettings.of(kit.system().settings().config(), disk);
    var binding = GrpcServers.bind(kit.system(), "127.0.0.1", 0, List.of(ContainerzServer.open(kit.system(), settings, Set.of()).service()))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    client = ContainerzClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", binding.localAddress().getPort(), kit.system())
        .withTls(false), kit.system());
  }

  @AfterAll
  void unmount() throws Exception {
    kit.shutdownTestKit();
    if (disk != null) {
      run("umount", "-l", disk.toString());
    }
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", command) + ": " + out);
  }

  private List<String> images() throws Exception {
    return client.listImage(ListImageRequest.getDefaultInstance()).runWith(Sink.seq(), kit.system()).toCompletableFuture()
        .get(30, TimeUnit.SECONDS).stream().map(i -> i.getImageName() + ":" + i.getTag() + " " + i.getId()).toList();
  }

  @Test
  void aDiskFilledMidDeployIsResourceExhaustedAndLosesNothing() throws Exception {
    ContainerzCalls.deploy(client, kit, "offload/kept", "1", ImageTarballs.write(tmp.resolve("kept.tar"), "offload/kept", "1"));
    List<String> before = images();
    Path filler = disk.resolve("filler");

    // 2 MiB announced (4 MiB free is needed and there is), the disk is filled once Ready is in, then the chunks come
    int size = 2 << 20;
    CompletableFuture<Void> filled = new CompletableFuture<>();
    List<DeployRequest> chunks = new ArrayList<>();
    for (int at = 0; at < size; at += 64 << 10) {
      chunks.add(DeployRequest.newBuilder().setContent(ByteString.copyFrom(new byte[64 << 10])).build());
    }
    Source<DeployRequest, NotUsed> requests = Source.single(DeployRequest.newBuilder().setImageTransfer(ImageTransfer.newBuilder()
        .setName("offload/big").setTag("1").setImageSize(size)).build())
        .concat(Source.completionStage(filled.thenApply(v -> chunks)).mapConcat(l -> l).mapMaterializedValue(m -> NotUsed.getInstance()));
    List<DeployResponse> answers = new ArrayList<>();
    var done = client.deploy(requests).runWith(Sink.foreach(r -> {
      answers.add(r);
      if (r.hasImageTransferReady()) {
        fill(filler);
        filled.complete(null);
      }
    }), kit.system()).toCompletableFuture();
    ExecutionException failed = assertThrows(ExecutionException.class, () -> done.get(60, TimeUnit.SECONDS));
    Status status = Status.fromThrowable(failed.getCause());
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
    assertTrue(status.getDescription().contains("No space left") && status.getDescription().contains("nothing was kept"),
        status.getDescription());
    assertTrue(answers.get(0).hasImageTransferReady(), answers.toString());

    // nothing of it left, the earlier image intact; with room again, the next Deploy is stored
    try (var left = Files.list(disk.resolve("containerz").resolve("incoming"))) {
      assertEquals(List.of(), left.toList());
    }
    assertEquals(before, images());
    Files.delete(filler);
    ContainerzCalls.deploy(client, kit, "offload/after", "1", ImageTarballs.write(tmp.resolve("after.tar"), "offload/after", "1"));
    assertEquals(2, images().size(), images().toString());
  }

  /** Writes zeros to {@code file} until the disk refuses more. */
  private static void fill(Path file) {
    byte[] block = new byte[256 << 10];
    try (OutputStream out = Files.newOutputStream(file)) {
      for (int i = 0; i < 1024; i++) { // 256 MiB at most: far above the 8 MiB disk
        out.write(block);
      }
      throw new AssertionError("the 8 MiB disk took 256 MiB");
    } catch (IOException full) {
      assertTrue(String.valueOf(full.getMessage()).contains("No space left"), full.toString());
    }
  }
}
