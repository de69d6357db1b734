package io.github.dpucoordinator.offloader;

import io.github.dpucoordinator.common.CborSerializable;
import java.util.ArrayList;
import java.util.List;

/**
 * One offloaded container's recorded state: its definition, the version it should run, whether an operator stopped it,
 * an upgrade or rollback in progress, the versions that failed, its restarts in the window, and its recent history.
 *
 * @param tag the version it should run now ("" before its first start)
 * @param phase steady, upgrading (from to to) or rolling-back (from failed to to)
 */
public record ContainerBook(ContainerDef def, String tag, String previousTag, boolean operatorStopped, boolean haltStopped, String phase,
    String from, String to, List<String> failedVersions, List<Long> restartTimes, long crashLoopingSince, List<Entry> history)
    implements CborSerializable {
  public static final String STEADY = "steady";
  public static final String UPGRADING = "upgrading";
  public static final String ROLLING_BACK = "rolling-back";

  public record Entry(long atMs, String kind, String detail) implements CborSerializable {}

  public ContainerBook {
    failedVersions = List.copyOf(failedVersions);
    restartTimes = List.copyOf(restartTimes);
    history = List.copyOf(history);
  }

  static ContainerBook empty() {
    return new ContainerBook(null, "", "", false, false, STEADY, "", "", List.of(), List.of(), 0, List.of());
  }

  boolean defined() {
    return def != null;
  }

  /**
   * What a version sync to {@code desired} comes to when it needs no operation (the container named {@code name} is
   * stopped by an operator, current, held by a failed version, or crash-looping); null when it must be started or upgraded.
   */
  OffloadedContainerProtocol.SyncOutcome settled(String name, String desired) {
    if (operatorStopped) {
      return new OffloadedContainerProtocol.SyncOutcome(name, "skipped", "stopped by an operator (runs " + tag + ")");
    }
    if (desired.equals(tag)) {
      return new OffloadedContainerProtocol.SyncOutcome(name, "current", def.image() + ":" + desired);
    }
    if (failedVersions.contains(desired)) {
      return new OffloadedContainerProtocol.SyncOutcome(name, "held", desired + " failed before (see its history); not tried again until "
          + "the DPU's version changes or an operator starts " + name);
    }
    return crashLoopingSince > 0 ? new OffloadedContainerProtocol.SyncOutcome(name, "skipped", "crash-looping") : null;
  }

  /** Restarts within {@code windowMs} before {@code nowMs}. */
  int restartsWithin(long windowMs, long nowMs) {
    return (int) restartTimes.stream().filter(t -> t > nowMs - windowMs).count();
  }

  ContainerBook apply(ContainerEvent e, int historyMax) {
    ContainerBook b = applied(e);
    List<Entry> h = new ArrayList<>(b.history);
    h.add(new Entry(e.atMs(), e.kind(), e.detail()));
    while (h.size() > historyMax) {
      h.remove(0);
    }
    return new ContainerBook(b.def, b.tag, b.previousTag, b.operatorStopped, b.haltStopped, b.phase, b.from, b.to, b.failedVersions,
        b.restartTimes, b.crashLoopingSince, h);
  }

  private ContainerBook applied(ContainerEvent e) {
    if (e instanceof ContainerEvent.Defined d) {
      return new ContainerBook(d.def(), tag, previousTag, operatorStopped, haltStopped, phase, from, to, failedVersions, restartTimes,
          crashLoopingSince, history);
    }
    if (e instanceof ContainerEvent.Started s) {
      return new ContainerBook(def, s.tag(), previousTag, false, false, phase, from, to, failedVersions, restartTimes, crashLoopingSince, history);
    }
    if (e instanceof ContainerEvent.Stopped s) {
      return new ContainerBook(def, tag, previousTag, s.byOperator() || operatorStopped, !s.byOperator(), phase, from, to, failedVersions,
          restartTimes, crashLoopingSince, history);
    }
    if (e instanceof ContainerEvent.OperatorStarted) {
      return new ContainerBook(def, tag, previousTag, false, false, phase, from, to, List.of(), List.of(), 0, history);
    }
    if (e instanceof ContainerEvent.Restarted r) {
      List<Long> times = new ArrayList<>(restartTimes);
      times.add(r.atMs());
      while (times.size() > 64) {
        times.remove(0);
      }
      return new ContainerBook(def, r.tag(), previousTag, operatorStopped, haltStopped, phase, from, to, failedVersions, times,
          crashLoopingSince, history);
    }
    if (e instanceof ContainerEvent.CrashLooping c) {
      return new ContainerBook(def, tag, previousTag, operatorStopped, haltStopped, phase, from, to, failedVersions, restartTimes, c.atMs(),
          history);
    }
    if (e instanceof ContainerEvent.RestartsReset) {
      return new ContainerBook(def, tag, previousTag, operatorStopped, haltStopped, phase, from, to, failedVersions, List.of(), 0, history);
    }
    if (e instanceof ContainerEvent.UpgradeStarted u) {
      return new ContainerBook(def, tag, previousTag, operatorStopped, haltStopped, UPGRADING, u.from(), u.to(), failedVersions, restartTimes,
          crashLoopingSince, history);
    }
    if (e instanceof ContainerEvent.Upgraded u) {
      return new ContainerBook(def, u.to(), u.from(), operatorStopped, haltStopped, STEADY, "", "", failedVersions, List.of(), 0, history);
    }
    if (e instanceof ContainerEvent.UpgradeFailed f) {
      List<String> failed = new ArrayList<>(failedVersions);
      if (!failed.contains(f.to())) {
        failed.add(f.to());
      }
      return new ContainerBook(def, tag, previousTag, operatorStopped, haltStopped, ROLLING_BACK, f.to(), f.back(), failed, restartTimes,
          crashLoopingSince, history);
    }
    if (e instanceof ContainerEvent.RolledBack r) {
      return new ContainerBook(def, r.to(), from, operatorStopped, haltStopped, STEADY, "", "", failedVersions, List.of(), 0, history);
    }
    if (e instanceof ContainerEvent.RollbackFailed r) {
      return new ContainerBook(def, r.to(), from, operatorStopped, haltStopped, STEADY, "", "", failedVersions, restartTimes, crashLoopingSince,
          history);
    }
    return this; // Failed: history only
  }
}
