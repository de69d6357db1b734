package io.github.dpucoordinator.common;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Random;

/** Ids of campaigns ("c…"), transitions ("m…"), notices ("n…"), unplanned events ("u…") and unnamed shutdowns, and names made from them. */
public final class Ids {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss").withZone(ZoneOffset.UTC);

  /** The ids issued in the second {@link #second} by this process: none is issued twice. */
  private static final java.util.Set<String> ISSUED = new java.util.HashSet<>();
  private static long second = -1;

  private Ids() {}

  /**
   * {@code prefix}, the UTC time and a random suffix: c20261203T080000-4f2a; never one this process has issued before (two
   * campaigns started within a second could draw the same suffix: the benchmark's 300 campaigns at about ten a second did,
   * and the DPUs took the second campaign's signal as one they had completed, without shutting down).
   */
  public static synchronized String newId(Random random, String prefix, long nowMillis) {
    if (nowMillis / 1000 != second) {
      second = nowMillis / 1000;
      ISSUED.clear();
    }
    String id;
    do {
      id = prefix + TIME.format(Instant.ofEpochMilli(nowMillis)) + "-" + Integer.toHexString(0x1000 + random.nextInt(0xf000));
    } while (!ISSUED.add(id));
    return id;
  }

  /** {@code prefix} and 8 random hex digits: the id of a shutdown a DPU was asked for with no campaign id ("dpu-1f2e3d4c"). */
  public static String unnamed(String prefix) {
    return prefix + java.util.UUID.randomUUID().toString().substring(0, 8);
  }

  /** {@code text} with anything but letters, digits, '_' and '-' replaced: fit for an actor or file name. */
  public static String safe(String text) {
    return text.replaceAll("[^A-Za-z0-9_-]", "_");
  }
}
