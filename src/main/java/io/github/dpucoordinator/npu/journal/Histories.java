package io.github.dpucoordinator.npu.journal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Each DPU's history, kept to the last {@code max} lines: how an entity adds a line, and how `status` merges them. */
public final class Histories {
  private Histories() {}

  /** {@code history} with {@code entry} added to {@code dpuId}'s lines (history lines, halt durations), the last {@code max} kept. */
  public static <T> Map<String, List<T>> with(Map<String, List<T>> history, String dpuId, T entry, int max) {
    Map<String, List<T>> next = new LinkedHashMap<>(history);
    List<T> entries = new ArrayList<>(next.getOrDefault(dpuId, List.of()));
    entries.add(entry);
    next.put(dpuId, tail(entries, max));
    return next;
  }

  /** The histories of several entities as one: each DPU's lines in time order, the last {@code max} of them. */
  @SafeVarargs
  public static Map<String, List<HistoryEntry>> merged(int max, Map<String, List<HistoryEntry>>... histories) {
    Map<String, List<HistoryEntry>> all = new LinkedHashMap<>();
    for (Map<String, List<HistoryEntry>> h : histories) {
      h.forEach((dpu, lines) -> all.computeIfAbsent(dpu, k -> new ArrayList<>()).addAll(lines));
    }
    Map<String, List<HistoryEntry>> out = new LinkedHashMap<>();
    all.forEach((dpu, lines) -> {
      List<HistoryEntry> sorted = new ArrayList<>(lines);
      sorted.sort(Comparator.comparingLong(HistoryEntry::atMillis)); // stable: lines of one entity keep their order
      out.put(dpu, tail(sorted, max));
    });
    return out;
  }

  public static <T> List<T> tail(List<T> list, int max) {
    return list.size() <= max ? List.copyOf(list) : List.copyOf(list.subList(list.size() - max, list.size()));
  }
}
