package io.github.dpucoordinator.npu.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.npu.module.ModuleEvent;
import io.github.dpucoordinator.npu.module.Transition;
import io.github.dpucoordinator.npu.notice.NoticeEvent;
import io.github.dpucoordinator.npu.protocol.CampaignKind;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Events and snapshots journaled under the flat layout's class names are read as this package's classes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FlatLayoutMigrationTest {
  private static final String FLAT = "io.github.dpucoordinator.npu.";
  private final Config config = AppConfig.load();
  private final ActorTestKit kit = ActorTestKit.create("flat-layout", config);
  private final Serialization serialization = SerializationExtension.get(kit.system().classicSystem());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void everyJournaledClassOfTheFlatLayoutHasAMigrationToAClassThatExists() throws Exception {
    Set<String> migrated = config.getConfig("pekko.serialization.jackson.migrations").root().keySet().stream()
        .filter(k -> k.startsWith(FLAT)).collect(Collectors.toSet());
    Set<String> events = java.util.Arrays.stream(CampaignEvent.class.getPermittedSubclasses())
        .map(c -> FLAT + "CampaignEvent$" + c.getSimpleName()).collect(Collectors.toSet());
    assertTrue(migrated.contains(FLAT + "CoordinatorState"), "the snapshot's old name");
    // events added after the move never had the old name; every other one must be there
    assertTrue(migrated.size() >= 36, "migrations: " + migrated.size());
    for (String old : migrated) {
      String moved = new FlatLayoutMigration().transformClassName(1, old);
      assertTrue(moved.startsWith("io.github.dpucoordinator.npu.") && !moved.startsWith(FLAT + "CampaignEvent"), moved);
      Class.forName(moved); // fails the test when a listed class does not exist under its new name
    }
    assertFalse(events.isEmpty());
  }

  @Test
  void anEventWrittenUnderItsOldNameIsReadAsTheSameEvent() {
    CampaignEvent started = new CampaignEvent.CampaignStarted("c1", "kernel upgrade", CampaignKind.COLD, 1_800_000_000_000L,
        List.of(new DpuEndpoint("DPU0", "127.0.0.1", 50051)), false);
    assertEquals(started, readUnderFlatName(started));
    CampaignEvent powerOff = new CampaignEvent.CampaignStarted("c2", "r", CampaignKind.POWER_OFF, 1L, List.of(), false);
    // the kind, an enum now, is written by the label the string had
    assertTrue(new String(serialization.serialize(powerOff).get(), java.nio.charset.StandardCharsets.ISO_8859_1).contains("power-off"));
    assertEquals(powerOff, readUnderFlatName(powerOff));
  }

  @Test
  void aSnapshotWrittenUnderItsOldNameIsReadAsTheSameState() {
    CoordinatorState empty = CoordinatorState.empty();
    Object read = readUnderFlatName(empty);
    assertEquals(CoordinatorState.class, read.getClass());
    assertEquals(empty.phase(), ((CoordinatorState) read).phase());
  }

  @Test
  void aSnapshotWithAModuleTransitionInFlightKeepsItsStepWrittenByName() {
    CoordinatorState halting = CoordinatorState.empty().apply(new ModuleEvent.ModuleTransitionStarted("m1",
        new DpuEndpoint("DPU0", "127.0.0.1", 50051), ModuleKind.SHUTDOWN, "replace a fan", 1L), 10, 10);
    byte[] bytes = serialization.serialize(halting).get();
    // the step is the same text the flat layout journaled when it was a string
    assertTrue(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).contains("HALTING"));
    // and the kind, an enum now, is written by the label the strings had
    assertTrue(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).contains("shutdown"));
    assertFalse(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).contains("SHUTDOWN"));
    CoordinatorState read = (CoordinatorState) readUnderFlatName(halting);
    assertEquals(Transition.Step.HALTING, read.modules().get("DPU0").transition().phase());
    assertEquals(ModuleKind.SHUTDOWN, read.modules().get("DPU0").transition().kind());
  }

  @Test
  void eventsOfModulesAndNoticesInTheCoordinatorsJournalAreReadAsTheirEntitiesClasses() {
    ModuleEvent.ModuleHalted halted = new ModuleEvent.ModuleHalted("m1", "DPU0", true, "", 1L, -1L);
    NoticeEvent.DpuRebootGoing going = new NoticeEvent.DpuRebootGoing("n1", "DPU0", "acknowledged", 2L, 1L, "b1");
    for (Object e : List.of(halted, going)) {
      byte[] bytes = serialization.serialize(e).get();
      int id = serialization.findSerializerFor(e).identifier();
      String before = "io.github.dpucoordinator.npu.coordinator.CampaignEvent$" + e.getClass().getSimpleName();
      assertEquals(e, serialization.deserialize(bytes, id, before).get(), before);
      assertEquals(e, serialization.deserialize(bytes, id, FLAT + "CampaignEvent$" + e.getClass().getSimpleName()).get());
    }
  }

  @Test
  void aNoticeJournaledWithNoAnswerYetAsAnEmptyStringReadsAsNone() throws Exception {
    // before the decision was an enum, a notice with no answer yet said so with "" (a snapshot of the coordinator)
    io.github.dpucoordinator.npu.notice.Notice answered = new io.github.dpucoordinator.npu.notice.Notice("n1", "DPU0", "fw", 1L, 2L, 1,
        io.github.dpucoordinator.npu.protocol.NpuProtocol.Decision.POSTPONE, 5L, "hooks", false, "", 0, 0, "");
    byte[] bytes = serialization.serialize(answered).get();
    int id = serialization.findSerializerFor(answered).identifier();
    com.fasterxml.jackson.databind.ObjectMapper cbor = new com.fasterxml.jackson.databind.ObjectMapper(
        new com.fasterxml.jackson.dataformat.cbor.CBORFactory());
    com.fasterxml.jackson.databind.node.ObjectNode json = (com.fasterxml.jackson.databind.node.ObjectNode) cbor.readTree(bytes);
    assertEquals("POSTPONE", json.get("decision").asText(), "written by name");
    json.put("decision", "");
    Object read = serialization.deserialize(cbor.writeValueAsBytes(json), id, answered.getClass().getName()).get();
    assertEquals(null, ((io.github.dpucoordinator.npu.notice.Notice) read).decision());
  }

  @Test
  void aModuleHaltAndAModuleSnapshotWrittenBeforeHaltDurationsWereKeptReadAsNoneKnown() throws Exception {
    com.fasterxml.jackson.databind.ObjectMapper cbor = new com.fasterxml.jackson.databind.ObjectMapper(
        new com.fasterxml.jackson.dataformat.cbor.CBORFactory());
    ModuleEvent.ModuleHalted halted = new ModuleEvent.ModuleHalted("m1", "DPU0", true, "", 1L, 420L);
    com.fasterxml.jackson.databind.node.ObjectNode event = (com.fasterxml.jackson.databind.node.ObjectNode) cbor.readTree(
        serialization.serialize(halted).get());
    assertEquals(420L, event.remove("haltMillis").asLong());
    Object oldEvent = serialization.deserialize(cbor.writeValueAsBytes(event), serialization.findSerializerFor(halted).identifier(),
        halted.getClass().getName()).get();
    assertEquals(-1L, ((ModuleEvent.ModuleHalted) oldEvent).haltMillis());

    io.github.dpucoordinator.npu.module.ModuleBook book = new io.github.dpucoordinator.npu.module.ModuleBook(java.util.Map.of(),
        java.util.Map.of(), true, java.util.Map.of("DPU0", List.of(420L)));
    com.fasterxml.jackson.databind.node.ObjectNode snapshot = (com.fasterxml.jackson.databind.node.ObjectNode) cbor.readTree(
        serialization.serialize(book).get());
    assertEquals(420L, snapshot.remove("halts").path("DPU0").get(0).asLong());
    Object oldSnapshot = serialization.deserialize(cbor.writeValueAsBytes(snapshot), serialization.findSerializerFor(book).identifier(),
        book.getClass().getName()).get();
    assertEquals(List.of(), ((io.github.dpucoordinator.npu.module.ModuleBook) oldSnapshot).haltsOf("DPU0"));
  }

  @Test
  void whatIsWrittenNowNamesTheNewClassWithNoVersion() {
    CampaignEvent e = new CampaignEvent.CampaignStarted("c1", "r", CampaignKind.COLD, 1L, List.of(), false);
    assertEquals(CampaignEvent.CampaignStarted.class.getName(), Serializers.manifestFor(serialization.findSerializerFor(e), e));
  }

  /** Serializes {@code o}, then reads the bytes back under the manifest the flat layout wrote for its class. */
  private Object readUnderFlatName(Object o) {
    byte[] bytes = serialization.serialize(o).get();
    int id = serialization.findSerializerFor(o).identifier();
    String flatName = FLAT + o.getClass().getName().substring(FlatLayoutMigration.class.getPackageName().length() + 1);
    return serialization.deserialize(bytes, id, flatName).get();
  }
}
