package io.github.dpucoordinator.npu.containerz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.github.dpucoordinator.proto.gnoi.containerz.ContainerzOuterClass;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The wire facts of openconfig/gnoi's containerz.proto (package, service and RPC names, message names, field names and
 * numbers, as ../shared/reference/CONTAINERZ.md records them) hold for this project's copy of the proto, so that a
 * client generated from the upstream file sees the same service. The upstream file itself is not in this repository.
 */
class ContainerzWireTest {
  private static Map<String, Integer> fields(Descriptor d) {
    Map<String, Integer> out = new LinkedHashMap<>();
    d.getFields().forEach(f -> out.put(f.getName(), f.getNumber()));
    return out;
  }

  private static Descriptor message(String name) {
    return ContainerzOuterClass.getDescriptor().findMessageTypeByName(name);
  }

  @Test
  void packageServiceAndRpcsAreUpstreams() {
    assertEquals("gnoi.containerz", ContainerzOuterClass.getDescriptor().getPackage());
    ServiceDescriptor s = ContainerzOuterClass.getDescriptor().findServiceByName("Containerz");
    assertEquals(List.of("Deploy", "ListImage", "RemoveImage", "RemoveContainer", "ListContainer", "StartContainer", "StopContainer",
        "UpdateContainer", "Log", "CreateVolume", "RemoveVolume", "ListVolume", "StartPlugin", "StopPlugin", "ListPlugins", "RemovePlugin",
        "RemovePluginTar"), s.getMethods().stream().map(m -> m.getName()).toList());
    assertEquals(true, s.findMethodByName("Deploy").isClientStreaming() && s.findMethodByName("Deploy").isServerStreaming());
    assertEquals(true, s.findMethodByName("ListContainer").isServerStreaming() && s.findMethodByName("Log").isServerStreaming());
  }

  @Test
  void containerMessagesHaveUpstreamsFieldNumbers() {
    assertEquals(Map.ofEntries(Map.entry("image_name", 1), Map.entry("tag", 2), Map.entry("cmd", 3), Map.entry("instance_name", 4),
        Map.entry("ports", 5), Map.entry("environment", 6), Map.entry("volumes", 7), Map.entry("network", 8), Map.entry("cap", 9),
        Map.entry("restart", 10), Map.entry("run_as", 11), Map.entry("labels", 12), Map.entry("limits", 13), Map.entry("devices", 14),
        Map.entry("location", 15)), fields(message("StartContainerRequest")));
    assertEquals(Map.of("instance_name", 1, "force", 2, "restart", 3), fields(message("StopContainerRequest")));
    assertEquals(Map.of("all", 1, "limit", 2, "filter", 3), fields(message("ListContainerRequest")));
    assertEquals(Map.of("id", 1, "name", 2, "image_name", 3, "status", 4, "labels", 5, "hash", 6), fields(message("ListContainerResponse")));
    assertEquals(List.of("UNSPECIFIED", "STOPPED", "RUNNING", "PRESENT", "NOT_FOUND"), message("ListContainerResponse").findEnumTypeByName("Status")
        .getValues().stream().map(v -> v.getName()).toList());
    assertEquals(Map.of("name", 1, "force", 3), fields(message("RemoveContainerRequest")));
    assertEquals(Map.of("instance_name", 1, "image_name", 2, "image_tag", 3, "params", 4, "async", 5), fields(message("UpdateContainerRequest")));
    assertEquals(Map.of("instance_name", 1, "is_async", 2), fields(message("UpdateOK")));
    assertEquals(Map.of("instance_name", 1, "follow", 2), fields(message("LogRequest")));
    assertEquals(Map.of("msg", 1), fields(message("LogResponse")));
    assertEquals(Map.of("start_ok", 1, "start_error", 2), fields(message("StartContainerResponse")));
    assertEquals(Map.of("policy", 1, "attempts", 2), fields(message("StartContainerRequest").findNestedTypeByName("Restart")));
  }

  @Test
  void imageMessagesHaveUpstreamsFieldNumbers() {
    assertEquals(Map.of("limit", 1, "filter", 3), fields(message("ListImageRequest")));
    assertEquals(Map.of("id", 1, "image_name", 2, "tag", 3), fields(message("ListImageResponse")));
    assertEquals(Map.of("name", 1, "tag", 2, "force", 3), fields(message("RemoveImageRequest")));
  }
}
