package io.github.dpucoordinator.npu.containerz.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;

/**
 * What the process runtime finds when it opens: the container records under its root, by instance name. A process a
 * killed service left running (same pid, same start time as recorded) is ended first. Two records of one name are what
 * an update interrupted by a crash leaves: the newer is kept, the older deleted.
 */
final class RecordsAtStart {
  private RecordsAtStart() {}

  record Found(ContainerRecord record, Path dir) {}

  static Map<String, Found> read(Path root, Logger log) throws IOException {
    Map<String, Found> byName = new HashMap<>();
    Files.createDirectories(root);
    try (Stream<Path> dirs = Files.list(root)) {
      for (Path dir : dirs.filter(d -> Files.exists(d.resolve(ContainerRecord.FILE))).toList()) {
        ContainerRecord r;
        try {
          r = ContainerRecord.read(dir);
        } catch (IOException e) {
          log.error("[container=unknown dpu=none] cannot read the container record in {}: {}; left as it is", dir, e.getMessage());
          continue;
        }
        endLeftover(r, log);
        Found found = new Found(r, dir);
        Found other = byName.get(r.spec().name());
        if (other != null) {
          Found older = other.record().createdMillis() > r.createdMillis() ? found : other;
          log.warn("[container={} dpu={}] an older version left by an interrupted update is dropped ({})", r.spec().name(), r.spec().dpu(),
              older.dir());
          RootFs.deleteTree(older.dir());
          found = older == found ? other : found;
        }
        byName.put(r.spec().name(), found);
      }
    }
    return byName;
  }

  private static void endLeftover(ContainerRecord r, Logger log) {
    if (r.pid() <= 0) {
      return;
    }
    ProcessHandle.of(r.pid()).filter(h -> h.info().startInstant().map(i -> i.toEpochMilli() == r.pidStartMillis()).orElse(false))
        .ifPresent(h -> {
          log.warn("[container={} dpu={}] its process {} outlived the service: killed", r.spec().name(), r.spec().dpu(), r.pid());
          h.descendants().forEach(ProcessHandle::destroyForcibly);
          h.destroyForcibly();
        });
  }
}
