package io.github.dpucoordinator.npu.containerz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.DynamicMessage;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.GrpcServers;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzOuterClass;
import io.github.dpucoordinator.sim.ImageTarballs;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client built from openconfig/gnoi's own {@code containerz.proto} (not this project's copy) against the NPU's
 * Containerz service: the upstream file is compiled here with protoc (protoc-jar) from a checkout named by
 * {@code -Dgnoi.dir}, and every call is made with messages of the upstream descriptors over a plain grpc-java channel.
 * Runs with {@code mvn verify -Pupstream-gnoi -Dgnoi.dir=/path/to/gnoi}; fails, not skips, when the checkout is missing.
 */
@Tag("needs-upstream-gnoi")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class UpstreamProtoClientTest {
  private final ActorTestKit kit = ActorTestKit.create("upstream-client", AppConfig.load());
  @TempDir
  static Path dir;
  private FileDescriptor upstream;
  private ServiceDescriptor service;
  private ManagedChannel channel;

  @BeforeAll
  void compileUpstreamAndServe() throws Exception {
    upstream = compile(Path.of(System.getProperty("gnoi.dir", "")));
    service = upstream.findServiceByName("Containerz");
    var settings = ContainerzSettings.of(AppConfig.with(kit.system().settings().config(), ContainerzSettings.KEY + ".start-check", "1s"), dir);
    var binding = GrpcServers.bind(kit.system(), "127.0.0.1", 0, List.of(ContainerzServer.open(kit.system(), settings, Set.of("DPU0")).service()))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    channel = ManagedChannelBuilder.forAddress("127.0.0.1", binding.localAddress().getPort()).usePlaintext().build();
  }

  @AfterAll
  void close() {
    if (channel != null) {
      channel.shutdownNow();
    }
    kit.shutdownTestKit();
  }

  /** protoc on the checkout's containerz.proto, its imports resolved under their github.com path; google/rpc from its jar. */
  private FileDescriptor compile(Path gnoi) throws Exception {
    Path proto = gnoi.resolve("containerz").resolve("containerz.proto");
    assertTrue(Files.isRegularFile(proto), "-Dgnoi.dir must name a checkout of github.com/openconfig/gnoi (no " + proto + ")");
    Path include = Files.createDirectories(dir.resolve("include").resolve("github.com").resolve("openconfig"));
    Files.createSymbolicLink(include.resolve("gnoi"), gnoi.toAbsolutePath());
    Path rpc = Files.createDirectories(dir.resolve("include").resolve("google").resolve("rpc"));
    try (InputStream status = com.google.rpc.Status.class.getClassLoader().getResourceAsStream("google/rpc/status.proto")) {
      Files.copy(status, rpc.resolve("status.proto"));
    }
    Path out = dir.resolve("upstream.desc");
    int exit = com.github.os72.protocjar.Protoc.runProtoc(new String[] {"--include_std_types", "--include_imports",
        "-I" + dir.resolve("include"), "--descriptor_set_out=" + out, "github.com/openconfig/gnoi/containerz/containerz.proto"});
    assertEquals(0, exit, "protoc on " + proto);
    Map<String, FileDescriptor> built = new HashMap<>();
    FileDescriptor last = null;
    for (FileDescriptorProto file : FileDescriptorSet.parseFrom(Files.readAllBytes(out)).getFileList()) { // imports come first
      List<FileDescriptor> deps = file.getDependencyList().stream().map(built::get).toList();
      last = FileDescriptor.buildFrom(file, deps.toArray(FileDescriptor[]::new));
      built.put(file.getName(), last);
    }
    return last;
  }

  private DynamicMessage.Builder message(String name) {
    return DynamicMessage.newBuilder(upstream.findMessageTypeByName(name));
  }

  private static DynamicMessage.Builder set(DynamicMessage.Builder b, String field, Object value) {
    FieldDescriptor f = b.getDescriptorForType().findFieldByName(field);
    if (f.isMapField()) {
      @SuppressWarnings("unchecked")
      Map<String, String> entries = (Map<String, String>) value;
      entries.forEach((k, v) -> {
        DynamicMessage.Builder entry = DynamicMessage.newBuilder(f.getMessageType());
        entry.setField(f.getMessageType().findFieldByName("key"), k).setField(f.getMessageType().findFieldByName("value"), v);
        b.addRepeatedField(f, entry.build());
      });
      return b;
    }
    return b.setField(f, value instanceof DynamicMessage.Builder m ? m.build() : value);
  }

  private static Object get(DynamicMessage m, String field) {
    return m.getField(m.getDescriptorForType().findFieldByName(field));
  }

  /** One call of the upstream service: its requests sent as they are asked for, its answers read one by one. */
  private final class Call {
    private final ClientCall<DynamicMessage, DynamicMessage> call;
    private final BlockingQueue<Object> answers = new LinkedBlockingQueue<>();

    Call(String rpc) {
      MethodDescriptor m = service.findMethodByName(rpc);
      io.grpc.MethodDescriptor<DynamicMessage, DynamicMessage> method = io.grpc.MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
          .setType(m.isClientStreaming() ? io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING
              : m.isServerStreaming() ? io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING : io.grpc.MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(io.grpc.MethodDescriptor.generateFullMethodName(service.getFullName(), rpc))
          .setRequestMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(m.getInputType())))
          .setResponseMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(m.getOutputType())))
          .build();
      call = channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onMessage(DynamicMessage message) {
          answers.add(message);
          call.request(1);
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          answers.add(status);
        }
      }, new Metadata());
      call.request(1);
    }

    Call send(DynamicMessage.Builder request) {
      call.sendMessage(request.build());
      return this;
    }

    Call done() {
      call.halfClose();
      return this;
    }

    /** The next answer; the call's end is a Status (OK once every answer was read). */
    Object next() throws InterruptedException {
      Object next = answers.poll(60, TimeUnit.SECONDS);
      assertTrue(next != null, "an answer within 60 s");
      return next;
    }

    List<DynamicMessage> all() throws InterruptedException {
      List<DynamicMessage> out = new ArrayList<>();
      for (Object next = next(); ; next = next()) {
        if (next instanceof Status s) {
          assertEquals(Status.Code.OK, s.getCode(), () -> "status " + s);
          return out;
        }
        out.add((DynamicMessage) next);
      }
    }

    Status refused() throws InterruptedException {
      for (Object next = next(); ; next = next()) {
        if (next instanceof Status s) {
          return s;
        }
      }
    }
  }

  private List<DynamicMessage> unary(String rpc, DynamicMessage.Builder request) throws InterruptedException {
    return new Call(rpc).send(request).done().all();
  }

  @Test
  void everyUpstreamMessageHasTheFieldsOfThisProjectsCopy() {
    Map<String, String> theirs = new TreeMap<>();
    Map<String, String> ours = new TreeMap<>();
    upstream.getMessageTypes().forEach(d -> shape(d, theirs));
    ContainerzOuterClass.getDescriptor().getMessageTypes().forEach(d -> shape(d, ours));
    assertEquals(theirs, ours);
    assertEquals(service.getMethods().stream().map(m -> m.getName() + "(" + m.getInputType().getName() + ")" + m.getOutputType().getName()).toList(),
        ContainerzOuterClass.getDescriptor().findServiceByName("Containerz").getMethods().stream()
            .map(m -> m.getName() + "(" + m.getInputType().getName() + ")" + m.getOutputType().getName()).toList());
  }

  /** Each field of {@code d} and its nested messages: number, type, label and oneof, by full name. */
  private static void shape(Descriptor d, Map<String, String> into) {
    for (FieldDescriptor f : d.getFields()) {
      into.put(f.getFullName(), f.getNumber() + " " + f.getType() + " " + (f.isRepeated() ? "repeated " : "")
          + (f.getType() == FieldDescriptor.Type.MESSAGE || f.getType() == FieldDescriptor.Type.ENUM
              ? (f.getType() == FieldDescriptor.Type.MESSAGE ? f.getMessageType().getFullName() : f.getEnumType().getFullName()) : "")
          + (f.getRealContainingOneof() == null ? "" : " oneof " + f.getRealContainingOneof().getName()));
    }
    d.getEnumTypes().forEach(e -> e.getValues().forEach(v -> into.put(v.getFullName(), String.valueOf(v.getNumber()))));
    d.getNestedTypes().forEach(n -> shape(n, into));
  }

  @Test
  void theConformanceLifecycleAnswersAnUpstreamClient() throws Exception {
    byte[] image = Files.readAllBytes(ImageTarballs.scriptImage(dir.resolve("echo.tar"), "offload/echo", "1",
        ContainerLifecycleTest.SERVICE));

    // Deploy: transfer, Ready, chunks each answered by Progress, End, Success
    Call deploy = new Call("Deploy").send(set(message("DeployRequest"), "image_transfer",
        set(set(set(message("ImageTransfer"), "name", "offload/echo"), "tag", "1"), "image_size", (long) image.length)));
    DynamicMessage ready = (DynamicMessage) get((DynamicMessage) deploy.next(), "image_transfer_ready");
    int chunk = (int) get(ready, "chunk_size");
    assertTrue(chunk > 0 && chunk <= 4 * 1024 * 1024, "chunk size " + chunk);
    long received = 0;
    for (int at = 0; at < image.length; at += chunk) {
      int n = Math.min(chunk, image.length - at);
      deploy.send(set(message("DeployRequest"), "content", ByteString.copyFrom(image, at, n)));
      received += n;
      DynamicMessage progress = (DynamicMessage) get((DynamicMessage) deploy.next(), "image_transfer_progress");
      assertEquals(received, (long) get(progress, "bytes_received"));
    }
    deploy.send(set(message("DeployRequest"), "image_transfer_end", message("ImageTransferEnd"))).done();
    DynamicMessage success = (DynamicMessage) get(deploy.all().get(0), "image_transfer_success");
    assertEquals(List.of("offload/echo", "1", (long) image.length), List.of(get(success, "name"), get(success, "tag"), get(success, "image_size")));

    List<DynamicMessage> images = unary("ListImage", message("ListImageRequest"));
    assertEquals(List.of("offload/echo:1"), images.stream().map(i -> get(i, "image_name") + ":" + get(i, "tag")).toList());
    assertTrue(((String) get(images.get(0), "id")).matches("(sha256:)?[0-9a-f]{64}"), images.get(0).toString());

    // start, running, its log
    DynamicMessage started = unary("StartContainer", set(set(set(set(message("StartContainerRequest"), "image_name", "offload/echo"),
        "tag", "1"), "instance_name", "echo"), "labels", Map.of("dpu", "DPU0"))).get(0);
    assertEquals("echo", get((DynamicMessage) get(started, "start_ok"), "instance_name"));
    DynamicMessage listed = unary("ListContainer", message("ListContainerRequest")).get(0);
    assertEquals(List.of("echo", "offload/echo:1", "RUNNING"), List.of(get(listed, "name"), get(listed, "image_name"),
        ((EnumValueDescriptor) get(listed, "status")).getName()));
    kit.createTestProbe().awaitAssert(java.time.Duration.ofSeconds(20), java.time.Duration.ofMillis(100), () -> {
      try {
        assertTrue(unary("Log", set(message("LogRequest"), "instance_name", "echo")).stream().map(l -> get(l, "msg"))
            .anyMatch("started offload/echo:1 greeting="::equals));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      return null;
    });

    // the refusals an upstream client is told
    assertEquals(Status.Code.NOT_FOUND, new Call("StartContainer").send(set(set(set(message("StartContainerRequest"), "image_name",
        "offload/echo"), "tag", "9"), "instance_name", "x")).done().refused().getCode());
    assertEquals(Status.Code.NOT_FOUND, new Call("StopContainer").send(set(message("StopContainerRequest"), "instance_name", "nobody"))
        .done().refused().getCode());
    assertEquals(Status.Code.FAILED_PRECONDITION, new Call("RemoveImage").send(set(set(message("RemoveImageRequest"), "name",
        "offload/echo"), "tag", "1")).done().refused().getCode());
    assertEquals(Status.Code.UNIMPLEMENTED, new Call("ListVolume").send(message("ListVolumeRequest")).done().refused().getCode());

    // stop, remove, and the image goes
    unary("StopContainer", set(message("StopContainerRequest"), "instance_name", "echo"));
    DynamicMessage stopped = unary("ListContainer", set(message("ListContainerRequest"), "all", true)).get(0);
    assertEquals("STOPPED", ((EnumValueDescriptor) get(stopped, "status")).getName());
    unary("RemoveContainer", set(message("RemoveContainerRequest"), "name", "echo"));
    unary("RemoveImage", set(set(message("RemoveImageRequest"), "name", "offload/echo"), "tag", "1"));
    assertEquals(List.of(), unary("ListImage", message("ListImageRequest")));
  }
}
