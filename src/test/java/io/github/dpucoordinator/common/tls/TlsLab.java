package io.github.dpucoordinator.common.tls;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A lab PKI in a test's directory: a CA, certificates it signs (CN = name, SANs for loopback), and config that uses them. */
public final class TlsLab {
  public final Path dir;
  public final Certificates.Issued ca;

  public TlsLab(Path dir) throws Exception {
    this.dir = dir;
    this.ca = Certificates.authority("lab CA " + dir.getFileName(), Duration.ofDays(30));
    Files.writeString(caFile(), pem(ca));
  }

  public Path caFile() {
    return dir.resolve("ca.pem");
  }

  public Path cert(String name) {
    return dir.resolve(name + ".pem");
  }

  public Path key(String name) {
    return dir.resolve(name + "-key.pem"); // as dpuctl certs init names it
  }

  /** Issues {@code name}'s certificate (valid {@code validity} from now, negative: already expired), written to cert/key. */
  public Certificates.Issued issue(String name, Duration validity) throws Exception {
    Certificates.Issued c = Certificates.issue(ca, name, List.of(name, "localhost"), List.of("127.0.0.1", "::1"), validity);
    Files.deleteIfExists(key(name));
    Certificates.write(c, cert(name), key(name));
    return c;
  }

  public Certificates.Issued issue(String name) throws Exception {
    return issue(name, Duration.ofDays(90));
  }

  /** {@code base} with block {@code prefix} (a server's) set to mode, and {@code name}'s certificate, and this CA. */
  public Config server(Config base, String prefix, String mode, String name) {
    Config c = AppConfig.with(base, prefix + ".mode", mode);
    c = AppConfig.with(c, prefix + ".cert", cert(name).toString());
    c = AppConfig.with(c, prefix + ".key", key(name).toString());
    return AppConfig.with(c, prefix + ".ca", caFile().toString());
  }

  /** {@code base} with client block {@code prefix} checking servers against this CA, presenting {@code name}'s certificate (null: none). */
  public Config client(Config base, String prefix, String name) {
    Config c = AppConfig.with(base, prefix + ".mode", "tls");
    c = AppConfig.with(c, prefix + ".ca", caFile().toString());
    if (name != null) {
      c = AppConfig.with(c, prefix + ".cert", cert(name).toString());
      c = AppConfig.with(c, prefix + ".key", key(name).toString());
    }
    return c;
  }

  static String pem(Certificates.Issued c) throws Exception {
    java.io.StringWriter w = new java.io.StringWriter();
    try (org.bouncycastle.openssl.jcajce.JcaPEMWriter p = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(w)) {
      p.writeObject(c.certificate());
    }
    return w.toString();
  }
}
