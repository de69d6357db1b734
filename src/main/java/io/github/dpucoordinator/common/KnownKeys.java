package io.github.dpucoordinator.common;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The keys the shipped application.conf defines under {@code dpu-coordinator}, and the environment
 * variables that override them. A key the service does not know is refused at start, with the closest
 * known one, because a misspelled timeout would otherwise be silently ignored.
 */
final class KnownKeys {
  private static final String ROOT = "dpu-coordinator";
  private static final Pattern SECTION = Pattern.compile("^\\s*([\\w.-]+)\\s*\\{\\s*$");
  private static final Pattern ENV = Pattern.compile("^\\s*([\\w.-]+)\\s*=\\s*\\$\\{\\?(\\w+)\\}\\s*$");
  private static final Set<String> STEP = Set.of("name", "command", "timeout", "simulate");
  /** Lists of objects in application.conf, and the fields their entries may have. */
  private static final Map<String, Set<String>> LIST_FIELDS = Map.of(
      ROOT + ".npu.dpus", Set.of("id", "host", "port", "protocol", "boot-wait", "required", "force-command", "tls"),
      ROOT + ".agent.shutdown-steps", STEP,
      ROOT + ".agent.tenant-cleanup", STEP,
      ROOT + ".npu.pre-reboot-tasks", STEP,
      ROOT + ".npu.dpu-reboot.hooks", STEP,
      ROOT + ".offloader.containers", Set.of("name", "image", "version-policy", "cmd", "env", "ports", "labels", "restart", "health"));
  /** The keys of a DPU's own tls block in npu.dpus (those of npu.dpu-tls). */
  private static final Set<String> DPU_TLS = new TreeSet<>(Set.of("mode", "ca", "server-name", "pin", "cert", "key"));
  private static volatile Map<String, String> overrides;

  private KnownKeys() {}

  /** Throws {@link AppConfig.Invalid} naming every unknown key under dpu-coordinator and the closest known one. */
  static void check(Config config) {
    if (!config.hasPath(ROOT)) {
      return;
    }
    Set<String> known = known();
    List<String> problems = new ArrayList<>();
    config.getConfig(ROOT).entrySet().stream().map(e -> ROOT + "." + e.getKey()).filter(k -> !known.contains(k)).sorted()
        .forEach(k -> problems.add(k + closest(k, known) + origin(config, k)));
    LIST_FIELDS.forEach((list, fields) -> {
      if (!config.hasPath(list) || config.getValue(list).valueType() != com.typesafe.config.ConfigValueType.LIST) {
        return;
      }
      com.typesafe.config.ConfigList entries = config.getList(list);
      for (int i = 0; i < entries.size(); i++) {
        if (entries.get(i) instanceof com.typesafe.config.ConfigObject entry) {
          if (list.equals(ROOT + ".npu.dpus") && entry.get("tls") instanceof com.typesafe.config.ConfigObject tls) {
            for (String key : new TreeSet<>(tls.keySet())) { // a DPU's own TLS block has the keys of npu.dpu-tls
              if (!DPU_TLS.contains(key)) {
                problems.add(list + "[" + i + "].tls." + key + " (its keys: " + String.join(", ", DPU_TLS) + ")"
                    + (tls.origin().filename() != null ? " (" + tls.origin().filename() + ":" + tls.get(key).origin().lineNumber() + ")" : ""));
              }
            }
          }
          for (String field : new TreeSet<>(entry.keySet())) {
            if (!fields.contains(field)) {
              String suggestion = closest(field, fields);
              problems.add(list + "[" + i + "]." + field + (suggestion.isEmpty() ? " (its fields: " + String.join(", ", new TreeSet<>(fields)) + ")"
                  : suggestion) + (entry.origin().filename() != null ? " (" + entry.origin().filename() + ":" + entry.get(field).origin().lineNumber() + ")" : ""));
            }
          }
        }
      }
    });
    if (!problems.isEmpty()) {
      throw new AppConfig.Invalid("unknown configuration key" + (problems.size() > 1 ? "s" : "") + ": " + String.join("; ", problems), null);
    }
  }

  private static volatile Set<String> known;

  /** The shipped application.conf's keys, read once. */
  private static Set<String> known() {
    Set<String> keys = known;
    if (keys == null) {
      Config reference = ConfigFactory.parseResources(KnownKeys.class.getClassLoader(), "application.conf");
      Set<String> all = new TreeSet<>();
      reference.getConfig(ROOT).entrySet().forEach(e -> all.add(ROOT + "." + e.getKey()));
      keys = java.util.Collections.unmodifiableSet(all);
      known = keys;
    }
    return keys;
  }

  private static String origin(Config config, String key) {
    var origin = config.getValue(key).origin();
    return origin.filename() != null ? " (" + origin.filename() + ":" + origin.lineNumber() + ")"
        : origin.description().contains("system properties") ? " (a -D system property)" : "";
  }

  private static String closest(String key, Set<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : known) {
      int d = distance(key, k);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    return best != null && bestDistance <= Math.max(3, key.length() / 4) ? " (did you mean " + best + "?)" : "";
  }

  /** Levenshtein distance. */
  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /** Config path -> the environment variable that overrides it, read from the shipped application.conf's {@code ${?VAR}} lines. */
  static Map<String, String> environmentOverrides() {
    Map<String, String> m = overrides;
    if (m == null) {
      m = new LinkedHashMap<>();
      try (InputStream in = KnownKeys.class.getClassLoader().getResourceAsStream("application.conf")) {
        Deque<String> sections = new ArrayDeque<>();
        for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
          Matcher section = SECTION.matcher(line);
          Matcher env = ENV.matcher(line);
          if (section.matches()) {
            sections.addLast(section.group(1));
          } else if (line.strip().equals("}")) {
            sections.pollLast();
          } else if (env.matches()) {
            String prefix = String.join(".", sections);
            m.put((prefix.isEmpty() ? "" : prefix + ".") + env.group(1), env.group(2));
          }
        }
      } catch (IOException | NullPointerException e) {
        return Map.of();
      }
      overrides = m;
    }
    return m;
  }
}
