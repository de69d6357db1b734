package io.github.dpucoordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.dpucoordinator.common.tls.Certificates;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `dpuctl certs init` makes a CA and certificates that work: each verifies against the CA, carries its names, matches
 * its key, and a mutual-TLS handshake over loopback between the NPU's and a DPU's succeeds while one with a certificate
 * from another CA fails. `certs show` prints what operators look for; a second init into the same directory is refused.
 */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class CertsTest {
  @Test
  void initMakesACaAndCertificatesThatCarryTheirNamesAndWorkForMutualTls(@TempDir Path dir) throws Exception {
    CliRunner.Run init = CliRunner.dpuctl("certs", "init", "--dir", dir.toString(), "--npu", "npu1", "--dpu", "DPU0", "--dpu", "DPU1",
        "--client", "viewer", "--san", "10.0.0.9");
    assertEquals(0, init.exit(), init.err());
    for (String f : List.of("ca", "npu", "DPU0", "DPU1", "admin", "viewer")) {
      assertTrue(Files.isRegularFile(dir.resolve(f + ".pem")) && Files.isRegularFile(dir.resolve(f + "-key.pem")), f);
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(f + "-key.pem"))), f);
    }
    X509Certificate ca = Certificates.readChain(dir.resolve("ca.pem")).get(0);
    List<X509Certificate> dpu0 = Certificates.readChain(dir.resolve("DPU0.pem"));
    assertEquals(2, dpu0.size(), "the leaf, then the CA");
    dpu0.get(0).verify(ca.getPublicKey());
    assertEquals("CN=DPU0", dpu0.get(0).getSubjectX500Principal().getName());
    assertEquals(List.of("DNS:DPU0", "DNS:localhost", "IP:127.0.0.1", "IP:0:0:0:0:0:0:0:1", "IP:10.0.0.9"),
        Certificates.subjectAltNames(dpu0.get(0)));
    assertTrue(Certificates.matches(Certificates.readKey(dir.resolve("DPU0-key.pem")), dpu0.get(0)));
    assertFalse(Certificates.matches(Certificates.readKey(dir.resolve("DPU1-key.pem")), dpu0.get(0)));

    // mutual TLS on loopback: the NPU's certificate as server, DPU0's as client, both trusting the CA
    assertEquals("CN=DPU0", handshake(dir, "npu", dir, "DPU0"));
    // a client from another CA is refused
    Path other = dir.resolve("other");
    assertEquals(0, CliRunner.dpuctl("certs", "init", "--dir", other.toString(), "--dpu", "DPU0").exit());
    assertThrows(Exception.class, () -> handshake(dir, "npu", other, "DPU0"));

    CliRunner.Run show = CliRunner.dpuctl("certs", "show", dir.resolve("npu.pem").toString());
    assertEquals(0, show.exit(), show.err());
    assertTrue(show.out().contains("subject:     CN=npu1") && show.out().contains("DNS:npu1, DNS:localhost, IP:127.0.0.1")
        && show.out().contains("sha256:      " + Certificates.fingerprint(Certificates.readChain(dir.resolve("npu.pem")).get(0))), show.out());
    CliRunner.Run again = CliRunner.dpuctl("certs", "init", "--dir", dir.toString(), "--dpu", "DPU0");
    assertEquals(ExitCodes.REFUSED, again.exit());
    assertTrue(again.err().contains("ca.pem exists; nothing was written"), again.err());
    CliRunner.Run notPem = CliRunner.dpuctl("certs", "show", dir.resolve("npu-key.pem").toString());
    assertEquals(ExitCodes.REFUSED, notPem.exit());
    assertTrue(notPem.err().contains("holds no PEM certificate"), notPem.err());
  }

  @Test
  void aPkcs1RsaKeyIsReadToo(@TempDir Path dir) throws Exception {
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    java.security.KeyPair pair = g.generateKeyPair();
    java.io.StringWriter pem = new java.io.StringWriter();
    try (org.bouncycastle.openssl.jcajce.JcaPEMWriter w = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(pem)) {
      w.writeObject(pair); // "RSA PRIVATE KEY": PKCS#1
    }
    assertTrue(pem.toString().startsWith("-----BEGIN RSA PRIVATE KEY-----"), pem.toString());
    Files.writeString(dir.resolve("rsa-key.pem"), pem.toString());
    PrivateKey key = Certificates.readKey(dir.resolve("rsa-key.pem"));
    assertEquals(pair.getPrivate().getEncoded().length > 0, key.getEncoded().length > 0);
    assertEquals("RSA", key.getAlgorithm());
  }

  /** A TLS handshake requiring a client certificate; the client's subject as the server saw it. */
  private static String handshake(Path serverDir, String server, Path clientDir, String client) throws Exception {
    SSLContext s = context(serverDir, server);
    SSLContext c = context(clientDir, client);
    try (SSLServerSocket listen = (SSLServerSocket) s.getServerSocketFactory().createServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      listen.setNeedClientAuth(true);
      java.util.concurrent.CompletableFuture<String> seen = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try (SSLSocket in = (SSLSocket) listen.accept(); InputStream r = in.getInputStream()) {
          r.read();
          return ((X509Certificate) in.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        } catch (Exception e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      });
      try (SSLSocket out = (SSLSocket) c.getSocketFactory().createSocket(java.net.InetAddress.getLoopbackAddress(), listen.getLocalPort());
          OutputStream w = out.getOutputStream()) {
        out.startHandshake();
        w.write(1);
        w.flush();
      } catch (SSLHandshakeException | java.net.SocketException refused) {
        seen.cancel(true);
        throw refused;
      }
      return seen.get(10, TimeUnit.SECONDS);
    }
  }

  private static SSLContext context(Path dir, String name) throws Exception {
    List<X509Certificate> chain = Certificates.readChain(dir.resolve(name + ".pem"));
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry(name, Certificates.readKey(dir.resolve(name + "-key.pem")), new char[0], chain.toArray(X509Certificate[]::new));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", Certificates.readChain(dir.resolve("ca.pem")).get(0));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }
}
