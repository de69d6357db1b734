package io.github.dpucoordinator.npu.gateway;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns lines from the request pipe into requests. A request is one JSON object, on one line or
 * pretty-printed over several: lines are gathered until they parse. Text that cannot become valid
 * JSON is reported at once, and so is an unfinished object when a new one starts in column 0.
 */
final class RequestFramer {

  /** What a line completed: a parsed JSON value, or text that is not a request and why. */
  sealed interface Framed {}

  record Parsed(JsonNode json) implements Framed {}

  record Rejected(String text, String message) implements Framed {}

  private final ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private final int maxBytes;
  private final StringBuilder pending = new StringBuilder();

  RequestFramer(int maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** A line as read (without its newline); {@code overlong} when the reader had to cut it. */
  List<Framed> accept(String line, boolean overlong) {
    List<Framed> out = new ArrayList<>();
    if (overlong) {
      String text = pending + line;
      pending.setLength(0);
      out.add(new Rejected(text, "request longer than " + maxBytes + " bytes"));
      return out;
    }
    if (line.isBlank() && pending.isEmpty()) {
      return out;
    }
    if (!pending.isEmpty() && line.startsWith("{")) {
      out.add(new Rejected(pending.toString(), "incomplete JSON request, followed by a new one"));
      pending.setLength(0);
    }
    pending.append(line).append('\n');
    if (pending.length() > maxBytes) {
      out.add(new Rejected(pending.toString(), "request longer than " + maxBytes + " bytes"));
      pending.setLength(0);
      return out;
    }
    try {
      if (complete(pending.toString())) {
        out.add(new Parsed(json.readTree(pending.toString())));
        pending.setLength(0);
      }
    } catch (JsonProcessingException e) {
      out.add(new Rejected(pending.toString(), "malformed JSON: " + e.getOriginalMessage()));
      pending.setLength(0);
    }
    return out;
  }

  /** True once the text holds a whole JSON value; false while it is only the start of one. */
  private boolean complete(String text) throws JsonProcessingException {
    try (JsonParser p = json.getFactory().createParser(text)) {
      int depth = 0;
      JsonToken t;
      while ((t = p.nextToken()) != null) {
        if (t.isStructStart()) {
          depth++;
        } else if (t.isStructEnd()) {
          depth--;
        }
        if (depth == 0) {
          return true;
        }
      }
      return false;
    } catch (JsonEOFException e) {
      return false; // ended inside a string or a name: more is coming
    } catch (JsonProcessingException e) {
      // An error where the text ends is the text ending early; anywhere before, the text is wrong.
      long at = e.getLocation() == null ? -1 : e.getLocation().getCharOffset();
      if (at >= text.stripTrailing().length()) {
        return false;
      }
      throw e;
    } catch (java.io.IOException e) {
      throw new IllegalStateException("reading a string cannot fail", e);
    }
  }
}
