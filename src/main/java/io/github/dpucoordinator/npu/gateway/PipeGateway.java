package io.github.dpucoordinator.npu.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.dpucoordinator.npu.protocol.ModuleKind;
import io.github.dpucoordinator.npu.protocol.NpuProtocol;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Seed 001's named-pipe IPC on the NPU: reads JSON requests ({@code dpu_id}, {@code method},
 * {@code ip}, {@code port}, {@code timestamp}, {@code reason}) from the request FIFO, runs each as a
 * single-DPU transition (HALT, COLD or WARM, then RebootStatus until done), and writes one JSON line
 * ({@code dpu_id}, {@code status} SUCCESS or FAILURE, {@code timestamp}, {@code message}) per request to
 * the response FIFO. Requests for different DPUs run in parallel; bad input is answered, never fatal.
 */
public final class PipeGateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PipeGateway.class);

  private final ActorSystem<?> system;
  private final ActorRef<NpuProtocol.Command> coordinator;
  private final NpuSettings.GatewaySettings settings;
  private final Duration askTimeout;
  private final Fifo requests;
  private final Fifo responses;
  private final ObjectMapper json = new ObjectMapper();
  private final ExecutorService writer = Executors.newSingleThreadExecutor(daemon("pipe-gateway-writer"));
  private final Thread reader;
  private final Cancellable watchdog;
  private volatile boolean running = true;
  private volatile RandomAccessFile requestHandle;
  private volatile Object requestKey;
  private RandomAccessFile responseHandle;
  private Object responseKey;

  private final Clock clock;

  private PipeGateway(ActorSystem<?> system, ActorRef<NpuProtocol.Command> coordinator, NpuSettings npu, Clock clock) throws IOException {
    this.clock = clock;
    this.system = system;
    this.coordinator = coordinator;
    this.settings = npu.gateway();
    this.askTimeout = npu.admin().askTimeout();
    String mode = settings.mode().length() == 3 ? "0" + settings.mode() : settings.mode();
    this.requests = new Fifo(npu.requestPipe(), mode);
    this.responses = new Fifo(npu.responsePipe(), mode);
    requests.ensure();
    responses.ensure();
    this.reader = daemon("pipe-gateway-reader").newThread(this::readLoop);
    reader.start();
    // the check may create a FIFO again (mkfifo, a process): blocking work, off the default dispatcher
    this.watchdog = system.scheduler().scheduleWithFixedDelay(settings.checkInterval(), settings.checkInterval(), this::check,
        system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking()));
    log.info("[dpu=all] pipe gateway: requests on {}, responses on {}", requests.path(), responses.path());
  }

  /** Creates both FIFOs (or reuses existing ones) and starts serving. */
  public static PipeGateway start(ActorSystem<?> system, ActorRef<NpuProtocol.Command> coordinator, NpuSettings npu, Clock clock)
      throws IOException {
    return new PipeGateway(system, coordinator, npu, clock);
  }

  // ---- reading ----

  private void readLoop() {
    while (running) {
      try {
        requests.ensure();
        requestKey = requests.key();
        try (RandomAccessFile raf = requests.open()) {
          requestHandle = raf;
          readRequests(new FileInputStream(raf.getFD()));
        }
      } catch (IOException e) {
        if (running) {
          log.error("[dpu=all] pipe gateway: reading {} failed: {}; retrying", requests.path(), e.getMessage());
          pause();
        }
      }
    }
  }

  /** Reads until the FIFO at the path is no longer the one open here (it was removed and recreated). */
  private void readRequests(InputStream in) throws IOException {
    RequestFramer framer = new RequestFramer(settings.maxRequestBytes());
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    boolean overlong = false;
    int b;
    while (running && (b = in.read()) != -1) {
      if (b != '\n') {
        if (line.size() < settings.maxRequestBytes()) {
          line.write(b);
        } else {
          overlong = true; // keep reading to the end of the line, keeping only its start
        }
        continue;
      }
      framer.accept(line.toString(StandardCharsets.UTF_8), overlong).forEach(this::handle);
      line.reset();
      overlong = false;
      if (!java.util.Objects.equals(requests.key(), requestKey)) {
        return;
      }
    }
  }

  private void handle(RequestFramer.Framed framed) {
    if (framed instanceof RequestFramer.Rejected r) {
      reject(PipeRequest.dpuIdIn(r.text()), r.message());
      return;
    }
    Object request = PipeRequest.from(((RequestFramer.Parsed) framed).json());
    if (request instanceof PipeRequest.Invalid invalid) {
      reject(invalid.dpuId(), invalid.message());
    } else {
      run((PipeRequest) request);
    }
  }

  private void reject(String dpuId, String message) {
    if (dpuId.isEmpty()) {
      log.error("[dpu=unknown] pipe gateway: request ignored, no dpu_id to answer to: {}", message);
    } else {
      log.warn("[dpu={}] pipe gateway: request refused: {}", dpuId, message);
      respond(dpuId, false, message);
    }
  }

  // ---- running a request ----

  private void run(PipeRequest r) {
    String reason = r.reason().isEmpty() ? "named-pipe request" : r.reason();
    StringBuilder given = new StringBuilder();
    if (!r.ip().isEmpty() || !r.port().isEmpty()) {
      given.append(" for ").append(r.ip()).append(':').append(r.port()).append(" (the configured endpoint is used)");
    }
    if (!r.timestamp().isEmpty()) {
      given.append(", sent ").append(r.timestamp());
    }
    log.info("[dpu={}] pipe gateway: {} request{}: {}", r.dpuId(), r.method(), given, reason);
    CompletionStage<NpuProtocol.StartReply> started = AskPattern.ask(coordinator,
        replyTo -> new NpuProtocol.ModuleCommand(r.dpuId(), ModuleKind.of(r.method().toLowerCase()), reason, replyTo), askTimeout, system.scheduler());
    started.whenComplete((reply, failure) -> {
      if (failure != null) {
        respond(r.dpuId(), false, io.github.dpucoordinator.common.Failures.unwrap(failure) instanceof java.util.concurrent.TimeoutException
            ? "the coordinator did not answer within " + NpuSettings.Admin.ASK_TIMEOUT + " (" + askTimeout.toMillis() + " ms)"
            : "the coordinator could not be asked: " + io.github.dpucoordinator.common.Failures.describe(failure));
      } else if (!reply.accepted()) {
        respond(r.dpuId(), false, reply.message());
      } else {
        CompletionStage<NpuProtocol.TransitionOutcome> outcome = AskPattern.ask(coordinator,
            replyTo -> new NpuProtocol.WatchTransition(r.dpuId(), reply.campaignId(), replyTo), settings.responseTimeout(),
            system.scheduler());
        outcome.whenComplete((o, f) -> {
          if (f != null) {
            respond(r.dpuId(), false, "no outcome within " + settings.responseTimeout().toSeconds() + " s (transition "
                + reply.campaignId() + ")");
          } else {
            respond(r.dpuId(), o.outcome().equals("ok"), r.method() + " " + o.outcome() + ": " + o.detail() + " (transition "
                + o.transitionId() + ")");
          }
        });
      }
    });
  }

  // ---- writing ----

  private void respond(String dpuId, boolean success, String message) {
    ObjectNode response = json.createObjectNode()
        .put("dpu_id", dpuId)
        .put("status", success ? "SUCCESS" : "FAILURE")
        .put("timestamp", clock.instant().truncatedTo(ChronoUnit.SECONDS).toString())
        .put("message", message);
    byte[] bytes = (response + "\n").getBytes(StandardCharsets.UTF_8);
    writer.execute(() -> {
      try {
        responseHandle().write(bytes);
        log.info("[dpu={}] pipe gateway: answered {}: {}", dpuId, success ? "SUCCESS" : "FAILURE", message);
      } catch (IOException e) {
        log.error("[dpu={}] pipe gateway: could not write the response to {}: {}", dpuId, responses.path(), e.getMessage());
        closeResponseHandle();
      }
    });
  }

  /** The response FIFO held open read-write, reopened when it was removed and recreated. */
  private RandomAccessFile responseHandle() throws IOException {
    responses.ensure();
    Object key = responses.key();
    if (responseHandle == null || !java.util.Objects.equals(key, responseKey)) {
      closeResponseHandle();
      responseHandle = responses.open();
      responseKey = key;
    }
    return responseHandle;
  }

  private void closeResponseHandle() {
    if (responseHandle != null) {
      try {
        responseHandle.close();
      } catch (IOException ignored) {
        // already gone
      }
      responseHandle = null;
    }
  }

  // ---- keeping the FIFOs in place ----

  /** Recreates a removed FIFO; a reader blocked on the removed one is woken with an empty line. */
  private void check() {
    try {
      if (!java.util.Objects.equals(requests.key(), requestKey)) {
        log.warn("[dpu=all] pipe gateway: {} was removed; recreating it", requests.path());
        requests.ensure();
        RandomAccessFile old = requestHandle;
        if (old != null) {
          old.write('\n');
        }
      }
      if (responses.key() == null) {
        log.warn("[dpu=all] pipe gateway: {} was removed; recreating it", responses.path());
        writer.execute(() -> {
          try {
            responseHandle();
          } catch (IOException e) {
            log.error("[dpu=all] pipe gateway: cannot recreate {}: {}", responses.path(), e.getMessage());
          }
        });
      }
    } catch (IOException e) {
      log.error("[dpu=all] pipe gateway: cannot recreate {}: {}", requests.path(), e.getMessage());
    }
  }

  private void pause() {
    try {
      Thread.sleep(settings.checkInterval().toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    running = false;
    watchdog.cancel();
    RandomAccessFile handle = requestHandle;
    if (handle != null) {
      try {
        handle.write('\n'); // wakes the reader so it sees it should stop
        handle.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    writer.shutdown();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
