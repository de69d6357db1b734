package io.github.dpucoordinator.common.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import io.github.dpucoordinator.agent.AgentServer;
import io.github.dpucoordinator.agent.settings.AgentSettings;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.proto.gnoi.system.SystemClient;
import io.github.dpucoordinator.proto.gnoi.system.TimeRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The DPU agent's server under each transport mode, reached over loopback by clients in each mode. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AgentTlsTest {
  static final String SERVER = "dpu-coordinator.agent.tls";
  static final String CLIENT = "dpu-coordinator.agent.npu-tls"; // any client block has the same keys
  @TempDir
  Path dir;
  TlsLab lab;
  ActorTestKit kit;

  @BeforeEach
  void setUp() throws Exception {
    lab = new TlsLab(dir);
    lab.issue("DPU0");
    lab.issue("npu");
    lab.issue("intruder");
    kit = ActorTestKit.create("tls", AppConfig.with(AppConfig.load(), "dpu-coordinator.tls.recheck", "0s"));
  }

  @AfterEach
  void tearDown() {
    kit.shutdownTestKit();
  }

  private int agent(Config config) throws Exception {
    AgentSettings s = AgentSettings.create(config).withId("DPU0").withPort(0);
    return AgentServer.start(kit.system(), s, config).toCompletableFuture().get(30, TimeUnit.SECONDS).port();
  }

  private long time(int port, Config clientConfig) throws Exception {
    ClientTls tls = ClientTls.from(clientConfig.getConfig(CLIENT), CLIENT, clientConfig.getConfig("dpu-coordinator.tls"));
    // more than one connection attempt: after its last, pekko-grpc shuts the channel down, and a call still waiting then
    // fails with "Channel shutdown invoked" instead of the connection's own failure (seen once in CI)
    SystemClient c = SystemClient.create(tls.apply(GrpcClientSettings.connectToServiceAt("127.0.0.1", port, kit.system())
        .withDeadline(Duration.ofSeconds(5)).withConnectionAttempts(3), "127.0.0.1"), kit.system());
    try {
      return c.time(TimeRequest.getDefaultInstance()).toCompletableFuture().get(20, TimeUnit.SECONDS).getTime();
    } finally {
      c.close();
    }
  }

  /** How the last failure reads in a log line (Failures.describe). */
  private static String described = "";

  private static Status failure(Executable call) {
    ExecutionException e = assertThrows(ExecutionException.class, call::run);
    described = io.github.dpucoordinator.common.Failures.describe(e);
    assertTrue(e.getCause() instanceof StatusRuntimeException, "a gRPC failure, not " + e.getCause());
    return ((StatusRuntimeException) e.getCause()).getStatus();
  }

  interface Executable {
    void run() throws Exception;
  }

  Config base() {
    return kit.system().settings().config();
  }

  @Test
  void tlsServerTalksToTlsClientsAndNotToPlaintextOnes() throws Exception {
    int port = agent(lab.server(base(), SERVER, "tls", "DPU0"));
    assertTrue(time(port, lab.client(base(), CLIENT, null)) > 0);
    Status plain = failure(() -> time(port, base()));
    assertEquals(Status.Code.UNAVAILABLE, plain.getCode(), plain.toString());
    assertTrue(described.contains("check both ends' tls mode"), described);
  }

  @Test
  void tlsClientCannotTalkToAPlaintextServer() throws Exception {
    int port = agent(base());
    Status s = failure(() -> time(port, lab.client(base(), CLIENT, null)));
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
    assertTrue(described.endsWith("(TLS: the peer does not speak TLS)"), described);
  }

  @Test
  void aServerCertificateFromAnotherCaOrForAnotherNameIsRefusedAndSkipVerifyTalksToAnyone() throws Exception {
    int port = agent(lab.server(base(), SERVER, "tls", "DPU0"));
    TlsLab other = new TlsLab(dir.resolve("other").toFile().mkdirs() ? dir.resolve("other") : dir.resolve("other"));
    Status s = failure(() -> time(port, other.client(base(), CLIENT, null)));
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
    assertTrue(described.contains("(TLS: unable to find valid certification path"), described);
    Status named = failure(() -> time(port, AppConfig.with(lab.client(base(), CLIENT, null), CLIENT + ".server-name", "DPU1")));
    assertEquals(Status.Code.UNAVAILABLE, named.getCode(), named.toString());
    assertTrue(described.contains("is not for DPU1"), described);
    assertTrue(time(port, AppConfig.with(lab.client(base(), CLIENT, null), CLIENT + ".server-name", "DPU0")) > 0);
    assertTrue(time(port, AppConfig.with(base(), CLIENT + ".mode", "tls-skip-verify")) > 0);
  }

  @Test
  void aPinnedFingerprintIsTheOnlyCertificateAccepted() throws Exception {
    int port = agent(lab.server(base(), SERVER, "tls", "DPU0"));
    String right = Certificates.fingerprint(Certificates.readChain(lab.cert("DPU0")).get(0));
    String wrong = Certificates.fingerprint(Certificates.readChain(lab.cert("npu")).get(0));
    Config pinned = AppConfig.with(AppConfig.with(base(), CLIENT + ".mode", "tls"), CLIENT + ".pin", right);
    assertTrue(time(port, pinned) > 0);
    Status s = failure(() -> time(port, AppConfig.with(pinned, CLIENT + ".pin", wrong)));
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
  }

  @Test
  void mutualTlsAcceptsAnAllowedIdentityAndRefusesOthers() throws Exception {
    Config server = AppConfig.with(lab.server(base(), SERVER, "mtls", "DPU0"), SERVER + ".allowed-clients", java.util.List.of("npu"));
    int port = agent(server);
    assertTrue(time(port, lab.client(base(), CLIENT, "npu")) > 0);
    Status denied = failure(() -> time(port, lab.client(base(), CLIENT, "intruder")));
    assertEquals(Status.Code.PERMISSION_DENIED, denied.getCode(), denied.toString());
    assertTrue(denied.getDescription().contains("intruder"), denied.getDescription());
    Status anonymous = failure(() -> time(port, lab.client(base(), CLIENT, null)));
    assertEquals(Status.Code.UNAUTHENTICATED, anonymous.getCode(), anonymous.toString());
  }

  @Test
  void aRotatedCertificateIsServedWithoutARestart() throws Exception {
    int port = agent(lab.server(base(), SERVER, "tls", "DPU0"));
    Config tls = AppConfig.with(base(), CLIENT + ".mode", "tls");
    String before = Certificates.fingerprint(Certificates.readChain(lab.cert("DPU0")).get(0));
    assertTrue(time(port, AppConfig.with(tls, CLIENT + ".pin", before)) > 0);
    lab.issue("DPU0"); // a new key and certificate in the same files
    String after = Certificates.fingerprint(Certificates.readChain(lab.cert("DPU0")).get(0));
    assertTrue(time(port, AppConfig.with(tls, CLIENT + ".pin", after)) > 0);
    Status old = failure(() -> time(port, AppConfig.with(tls, CLIENT + ".pin", before)));
    assertEquals(Status.Code.UNAVAILABLE, old.getCode(), old.toString());
  }

  @Test
  void settingsThatCannotWorkAreRefusedNamingTheKey() throws Exception {
    lab.issue("old", Duration.ofSeconds(-60));
    assertRefused(lab.server(base(), SERVER, "tls", "old"), SERVER + ".cert", "expired");
    Config mismatched = AppConfig.with(lab.server(base(), SERVER, "tls", "DPU0"), SERVER + ".key", lab.key("npu").toString());
    assertRefused(mismatched, SERVER + ".key", "is not the key of the certificate");
    assertRefused(AppConfig.with(lab.server(base(), SERVER, "tls", "DPU0"), SERVER + ".cert", dir.resolve("nope.pem").toString()),
        SERVER + ".cert", "does not exist");
    assertRefused(AppConfig.with(base(), SERVER + ".mode", "tls"), SERVER + ".cert", "needs a certificate");
    assertRefused(AppConfig.with(lab.server(base(), SERVER, "mtls", "DPU0"), SERVER + ".ca", ""), SERVER + ".ca", "mtls needs");
    assertRefused(AppConfig.with(base(), SERVER + ".mode", "tsl"), SERVER + ".mode", "plaintext, tls or mtls");
    TlsConfigException client = assertThrows(TlsConfigException.class,
        () -> ClientTls.from(AppConfig.with(base(), CLIENT + ".mode", "tls").getConfig(CLIENT), CLIENT, base().getConfig("dpu-coordinator.tls")));
    assertTrue(client.getMessage().contains(CLIENT + ".ca"), client.getMessage());
  }

  @Test
  void aClientCertificateThatHasExpiredIsRefusedInTheHandshake() throws Exception {
    int port = agent(lab.server(base(), SERVER, "mtls", "DPU0"));
    lab.issue("brief", Duration.ofSeconds(3));
    Config brief = lab.client(base(), CLIENT, "brief"); // loaded while still valid
    ClientTls tls = ClientTls.from(brief.getConfig(CLIENT), CLIENT, brief.getConfig("dpu-coordinator.tls"));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(500), () -> {
      SystemClient c = SystemClient.create(tls.apply(GrpcClientSettings.connectToServiceAt("127.0.0.1", port, kit.system())
          .withDeadline(Duration.ofSeconds(5)).withConnectionAttempts(1), "127.0.0.1"), kit.system());
      try {
        Status s = failure(() -> c.time(TimeRequest.getDefaultInstance()).toCompletableFuture().get(20, TimeUnit.SECONDS));
        assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
      } finally {
        c.close();
      }
      return null;
    });
  }

  private void assertRefused(Config config, String key, String why) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> agent(config));
    assertTrue(e.getCause() instanceof TlsConfigException, String.valueOf(e.getCause()));
    assertTrue(e.getCause().getMessage().contains(key) && e.getCause().getMessage().contains(why), e.getCause().getMessage());
  }
}
