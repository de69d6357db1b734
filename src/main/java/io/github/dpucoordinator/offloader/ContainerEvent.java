package io.github.dpucoordinator.offloader;

import io.github.dpucoordinator.common.CborSerializable;

/** What happened to one offloaded container, as its journal keeps it; each event is also a line of its history. */
public interface ContainerEvent extends CborSerializable {
  long atMs();

  /** The history's name for it and one line of detail. */
  String kind();

  String detail();

  /** Defined (from the configuration or a deploy) or changed. */
  record Defined(ContainerDef def, long atMs) implements ContainerEvent {
    public String kind() {
      return "defined";
    }

    public String detail() {
      return def.image() + " (" + def.versionPolicy() + ")";
    }
  }

  record Started(String tag, String why, long atMs) implements ContainerEvent {
    public String kind() {
      return "started";
    }

    public String detail() {
      return tag + ": " + why;
    }
  }

  /** Stopped by an operator ({@code byOperator}: it stays stopped) or for a DPU halt (started again when the DPU is back). */
  record Stopped(boolean byOperator, String why, long atMs) implements ContainerEvent {
    public String kind() {
      return byOperator ? "stopped" : "stopped-for-halt";
    }

    public String detail() {
      return why;
    }
  }

  /** An operator started it: it runs again, its crash-loop mark and failed versions are forgotten. */
  record OperatorStarted(long atMs) implements ContainerEvent {
    public String kind() {
      return "operator-start";
    }

    public String detail() {
      return "crash-loop mark and failed versions cleared";
    }
  }

  /** It crashed or its health check failed {@code failure-threshold} times: a restart follows after {@code delayMs}. */
  record Failed(String why, long delayMs, long atMs) implements ContainerEvent {
    public String kind() {
      return "failed";
    }

    public String detail() {
      return why + "; restart in " + delayMs + " ms";
    }
  }

  record Restarted(String tag, int restart, long atMs) implements ContainerEvent {
    public String kind() {
      return "restarted";
    }

    public String detail() {
      return tag + " (restart " + restart + " in the window)";
    }
  }

  /** Failed again with {@code max-restarts} restarts in the window: no more restarts until an operator starts it. */
  record CrashLooping(String why, long atMs) implements ContainerEvent {
    public String kind() {
      return "crash-looping";
    }

    public String detail() {
      return why;
    }
  }

  /** Healthy for {@code restart.reset-after}: the restart count starts over. */
  record RestartsReset(long atMs) implements ContainerEvent {
    public String kind() {
      return "restarts-reset";
    }

    public String detail() {
      return "healthy long enough";
    }
  }

  record UpgradeStarted(String from, String to, String why, long atMs) implements ContainerEvent {
    public String kind() {
      return "upgrade-started";
    }

    public String detail() {
      return from + " -> " + to + ": " + why;
    }
  }

  record Upgraded(String from, String to, long atMs) implements ContainerEvent {
    public String kind() {
      return "upgraded";
    }

    public String detail() {
      return from + " -> " + to + ", healthy";
    }
  }

  /** {@code to} failed (or an operator rolled it back): it is not tried again, and {@code back} is being restored. */
  record UpgradeFailed(String to, String back, String why, long atMs) implements ContainerEvent {
    public String kind() {
      return "upgrade-failed";
    }

    public String detail() {
      return to + ": " + why + "; rolling back to " + back;
    }
  }

  record RolledBack(String to, long atMs) implements ContainerEvent {
    public String kind() {
      return "rolled-back";
    }

    public String detail() {
      return to + " runs again, healthy";
    }
  }

  /** The rollback did not end healthy: the monitor takes over (restarts, then crash-looping). */
  record RollbackFailed(String to, String why, long atMs) implements ContainerEvent {
    public String kind() {
      return "rollback-failed";
    }

    public String detail() {
      return to + ": " + why;
    }
  }
}
