package io.github.dpucoordinator.common;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** Times in short human-readable lines (agent logs, notice logs, CLI output): UTC wall-clock, {@code 10:41:05Z}. */
public final class UtcTime {
  private static final DateTimeFormatter HH_MM_SS = DateTimeFormatter.ofPattern("HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

  private UtcTime() {}

  public static String of(long millis) {
    return HH_MM_SS.format(Instant.ofEpochMilli(millis));
  }
}
