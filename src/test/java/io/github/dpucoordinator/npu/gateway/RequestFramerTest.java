package io.github.dpucoordinator.npu.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.dpucoordinator.common.Json;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestFramerTest {
  /** Seed 001's example request, exactly as the seed prints it. */
  static final String SEED_EXAMPLE = """
      {
        "dpu_id": "DPU0",
        "method": "HALT",
        "ip": "192.168.100.10",
        "port": "9339",
        "timestamp": "2025-05-19T18:57:06Z",
        "reason": "Scheduled maintenance"
      }
      """;

  private static List<RequestFramer.Framed> feed(RequestFramer framer, String text) {
    List<RequestFramer.Framed> out = new ArrayList<>();
    for (String line : text.split("\n", -1)) {
      out.addAll(framer.accept(line, false));
    }
    return out;
  }

  @Test
  void theSeedsPrettyPrintedExampleAndAOneLineRequestEachMakeOneRequest() {
    RequestFramer framer = new RequestFramer(16384);
    List<RequestFramer.Framed> out = feed(framer, SEED_EXAMPLE + "{\"dpu_id\": \"DPU1\", \"method\": \"COLD\"}\n");
    assertEquals(2, out.size(), out.toString());
    assertEquals("DPU0", ((RequestFramer.Parsed) out.get(0)).json().path("dpu_id").asText());
    assertEquals("COLD", ((RequestFramer.Parsed) out.get(1)).json().path("method").asText());
  }

  @Test
  void badTextIsRejectedAtOnceAndTheNextRequestStillParses() {
    RequestFramer framer = new RequestFramer(300);
    List<RequestFramer.Framed> out = feed(framer, String.join("\n",
        "{not json",
        "{\"dpu_id\": \"DPU0\", \"method\": \"HALT\"} trailing",
        "{\"dpu_id\": \"DPU1\",",
        "{\"dpu_id\": \"DPU2\", \"method\": \"HALT\"}",
        "{\"dpu_id\": \"DPU3\", \"reason\": \"" + "x".repeat(400) + "\"}",
        "{\"dpu_id\": \"DPU4\", \"method\": \"WARM\"}", ""));
    assertEquals(6, out.size(), out.toString());
    assertTrue(((RequestFramer.Rejected) out.get(0)).message().startsWith("malformed JSON"));
    assertTrue(((RequestFramer.Rejected) out.get(1)).message().startsWith("malformed JSON"), "trailing text is not a request");
    assertEquals("incomplete JSON request, followed by a new one", ((RequestFramer.Rejected) out.get(2)).message());
    assertEquals("DPU2", ((RequestFramer.Parsed) out.get(3)).json().path("dpu_id").asText());
    RequestFramer.Rejected tooLong = (RequestFramer.Rejected) out.get(4);
    assertEquals("request longer than 300 bytes", tooLong.message());
    assertEquals("DPU3", PipeRequest.dpuIdIn(tooLong.text()), "the answer can still name its DPU");
    assertInstanceOf(RequestFramer.Parsed.class, out.get(5));
  }

  private static Object request(String json) {
    return PipeRequest.from(Json.read(json));
  }

  private static void invalid(String json, String dpu, String message) {
    PipeRequest.Invalid i = assertInstanceOf(PipeRequest.Invalid.class, request(json), json);
    assertEquals(dpu, i.dpuId(), json);
    assertTrue(i.message().startsWith(message), i.message());
  }

  @Test
  void fieldsAreCheckedAndEveryProblemIsNamed() {
    JsonNode seed = Json.read(SEED_EXAMPLE);
    PipeRequest ok = assertInstanceOf(PipeRequest.class, PipeRequest.from(seed));
    assertEquals(new PipeRequest("DPU0", "HALT", "192.168.100.10", "9339", "2025-05-19T18:57:06Z", "Scheduled maintenance"), ok);

    invalid("[1, 2]", "", "a request must be a JSON object");
    invalid("{\"method\": \"HALT\"}", "", "dpu_id is missing");
    invalid("{\"dpu_id\": 7, \"method\": \"HALT\"}", "", "dpu_id must be a non-empty string");
    invalid("{\"dpu_id\": \"DPU0\"}", "DPU0", "method is missing");
    invalid("{\"dpu_id\": \"DPU0\", \"method\": 3}", "DPU0", "method must be a string");
    invalid("{\"dpu_id\": \"DPU0\", \"method\": \"POWERUP\"}", "DPU0", "method 'POWERUP' is not supported");
    invalid("{\"dpu_id\": \"DPU0\", \"method\": \"HALT\", \"port\": true}", "DPU0", "port must be a string or a number");
    invalid("{\"dpu_id\": \"DPU0\", \"method\": \"HALT\", \"ip\": 10}", "DPU0", "ip must be a string");
    invalid("{\"dpu_id\": \"DPU0\", \"method\": \"HALT\", \"timestamp\": \"yesterday\"}", "DPU0", "timestamp 'yesterday' is not ISO 8601");
    assertInstanceOf(PipeRequest.class, request("{\"dpu_id\": \"DPU0\", \"method\": \"halt\", \"port\": 9339}"));
  }
}
