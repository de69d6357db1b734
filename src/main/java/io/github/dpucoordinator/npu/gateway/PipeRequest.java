package io.github.dpucoordinator.npu.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One request in seed 001's format: {@code dpu_id} and {@code method} required; {@code ip},
 * {@code port}, {@code timestamp} and {@code reason} optional. {@code ip} and {@code port} are
 * informational: the DPU is reached at its configured endpoint.
 */
record PipeRequest(String dpuId, String method, String ip, String port, String timestamp, String reason) {
  static final Set<String> METHODS = Set.of("HALT", "COLD", "WARM");
  private static final Pattern DPU_ID = Pattern.compile("\"dpu_id\"\\s*:\\s*\"([^\"\\\\]{1,64})\"");

  /** A request that cannot be run; {@code dpuId} is empty when none could be read. */
  record Invalid(String dpuId, String message) {}

  /** The request, or why not: returns a PipeRequest or an Invalid. */
  static Object from(JsonNode json) {
    if (!json.isObject()) {
      return new Invalid("", "a request must be a JSON object");
    }
    JsonNode id = json.get("dpu_id");
    if (id == null || id.isNull()) {
      return new Invalid("", "dpu_id is missing");
    }
    if (!id.isTextual() || id.asText().isBlank()) {
      return new Invalid("", "dpu_id must be a non-empty string");
    }
    String dpu = id.asText();
    JsonNode method = json.get("method");
    if (method == null || method.isNull()) {
      return new Invalid(dpu, "method is missing; expected HALT, COLD or WARM");
    }
    if (!method.isTextual()) {
      return new Invalid(dpu, "method must be a string (HALT, COLD or WARM)");
    }
    String m = method.asText().trim().toUpperCase();
    if (!METHODS.contains(m)) {
      return new Invalid(dpu, "method '" + method.asText() + "' is not supported; expected HALT, COLD or WARM");
    }
    for (String field : new String[] {"ip", "timestamp", "reason"}) {
      JsonNode v = json.get(field);
      if (v != null && !v.isNull() && !v.isTextual()) {
        return new Invalid(dpu, field + " must be a string");
      }
    }
    JsonNode port = json.get("port");
    if (port != null && !port.isNull() && !port.isTextual() && !port.isInt()) {
      return new Invalid(dpu, "port must be a string or a number");
    }
    String timestamp = text(json, "timestamp");
    if (!timestamp.isEmpty()) {
      try {
        DateTimeFormatter.ISO_DATE_TIME.parse(timestamp);
      } catch (DateTimeParseException e) {
        return new Invalid(dpu, "timestamp '" + timestamp + "' is not ISO 8601");
      }
    }
    return new PipeRequest(dpu, m, text(json, "ip"), port == null || port.isNull() ? "" : port.asText(), timestamp, text(json, "reason"));
  }

  /** The dpu_id of text that is not (or not yet) valid JSON, if one can be read from it. */
  static String dpuIdIn(String text) {
    Matcher m = DPU_ID.matcher(text);
    return m.find() ? m.group(1) : "";
  }

  private static String text(JsonNode json, String field) {
    JsonNode v = json.get(field);
    return v == null || v.isNull() ? "" : v.asText();
  }
}
