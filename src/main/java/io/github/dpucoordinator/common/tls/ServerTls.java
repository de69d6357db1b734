package io.github.dpucoordinator.common.tls;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;

/**
 * How one of this project's gRPC servers is reached: {@code plaintext}, {@code tls} (its certificate, {@code cert} and
 * {@code key}), or {@code mtls} (also a client certificate signed by {@code ca}, the client's identity taken from its
 * subject CN or SANs, {@code identity-from}; who may call what is then decided per call by {@link PeerAuth}). The
 * certificate files are re-read when they change. Settings that cannot work are refused naming the key.
 */
public final class ServerTls {
  public static final String PLAINTEXT = "plaintext";
  public static final String TLS = "tls";
  public static final String MTLS = "mtls";

  private final String prefix;
  private final String mode;
  private final KeyMaterial keys;
  private final TrustMaterial cas;
  private final String identityFrom;

  private ServerTls(String prefix, String mode, KeyMaterial keys, TrustMaterial cas, String identityFrom) {
    this.prefix = prefix;
    this.mode = mode;
    this.keys = keys;
    this.cas = cas;
    this.identityFrom = identityFrom;
  }

  public static ServerTls plaintext() {
    return new ServerTls("", PLAINTEXT, null, null, Identities.CN);
  }

  /** The server settings at {@code key} of {@code root} (its mode, cert, key, ca, identity-from), with root's dpu-coordinator.tls. */
  public static ServerTls at(Config root, String key) {
    return from(root.getConfig(key), key, root.getConfig("dpu-coordinator.tls"));
  }

  static ServerTls from(Config c, String prefix, Config tls) {
    String mode = c.getString("mode").toLowerCase(Locale.ROOT);
    if (!Set.of(PLAINTEXT, TLS, MTLS).contains(mode)) {
      throw new TlsConfigException(prefix + ".mode must be plaintext, tls or mtls, not '" + mode + "'");
    }
    String from = c.getString("identity-from").toLowerCase(Locale.ROOT);
    if (!from.equals(Identities.CN) && !from.equals(Identities.SAN)) {
      throw new TlsConfigException(prefix + ".identity-from must be cn or san, not '" + from + "'");
    }
    if (mode.equals(PLAINTEXT)) {
      return new ServerTls(prefix, PLAINTEXT, null, null, from);
    }
    String cert = c.getString("cert");
    String key = c.getString("key");
    if (cert.isEmpty() || key.isEmpty()) {
      throw new TlsConfigException(prefix + ".mode = " + mode + " needs a certificate: " + prefix + ".cert and " + prefix + ".key");
    }
    String ca = c.getString("ca");
    if (mode.equals(MTLS) && ca.isEmpty()) {
      throw new TlsConfigException(prefix + ".mode = mtls needs " + prefix + ".ca (the CA bundle client certificates are checked against)");
    }
    java.time.Duration recheck = tls.getDuration("recheck");
    KeyMaterial material = new KeyMaterial(prefix + ".cert", Path.of(cert), prefix + ".key", Path.of(key), recheck,
        tls.getDuration("warn-before"), Clock.systemUTC());
    TrustMaterial trust = ca.isEmpty() ? null : new TrustMaterial(prefix + ".ca", Path.of(ca), recheck);
    return new ServerTls(prefix, mode, material, trust, from);
  }

  public String mode() {
    return mode;
  }

  public boolean plain() {
    return mode.equals(PLAINTEXT);
  }

  public boolean mutual() {
    return mode.equals(MTLS);
  }

  public String identityFrom() {
    return identityFrom;
  }

  /** The config prefix of these settings (for messages naming the keys). */
  public String prefix() {
    return prefix;
  }

  public Optional<KeyMaterial> keys() {
    return Optional.ofNullable(keys);
  }

  /** The HTTPS context to bind with; empty for plaintext. Client certificates are asked for, and checked, under mtls. */
  public Optional<HttpsConnectionContext> https() {
    if (plain()) {
      return Optional.empty();
    }
    SSLContext context;
    try {
      context = SSLContext.getInstance("TLS");
      context.init(new javax.net.ssl.KeyManager[] {new ReloadingKeyManager(keys)},
          mutual() ? new TrustManager[] {new PeerTrust(cas, "", Set.of(), true)} : null, null);
    } catch (GeneralSecurityException e) {
      throw new TlsConfigException(prefix + ": cannot make a TLS server context (" + e.getMessage() + ")");
    }
    boolean ask = mutual();
    return Optional.of(ConnectionContext.httpsServer(() -> {
      SSLEngine engine = context.createSSLEngine();
      engine.setUseClientMode(false);
      // wanted, not needed: a call without one is answered UNAUTHENTICATED (PeerAuth) rather than cut in the handshake
      engine.setWantClientAuth(ask);
      return engine;
    }));
  }

  /** One line for logs and status: the mode and the certificate served. */
  public String describe() {
    if (plain()) {
      return "plaintext";
    }
    KeyMaterial.Loaded l = keys.current();
    String fingerprint;
    try {
      fingerprint = Certificates.fingerprint(l.leaf());
    } catch (GeneralSecurityException e) {
      fingerprint = "?";
    }
    return mode + " (" + l.leaf().getSubjectX500Principal().getName() + ", until " + l.leaf().getNotAfter().toInstant()
        + (keys.expiresSoon() ? " EXPIRES SOON" : "") + ", SHA-256 " + fingerprint.substring(0, 11) + "..."
        + (mutual() ? ", client identity from " + identityFrom : "") + ")";
  }

  /** The identities a verified client certificate gives its holder. */
  public List<String> identities(java.security.cert.X509Certificate leaf) {
    return Identities.of(leaf, identityFrom);
  }

  /** For status: this server's mode and certificate. */
  public TlsReport report(String endpoint) {
    return TlsReport.of(endpoint, mode, false, keys());
  }
}
