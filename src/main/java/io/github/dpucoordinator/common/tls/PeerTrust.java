package io.github.dpucoordinator.common.tls;

import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * How a peer's certificate is judged. As a client: against a CA bundle (and the expected server name), a pinned
 * SHA-256 fingerprint, or not at all (skip-verify, logged as insecure by its owner). As a server: a client certificate
 * against the CA bundle (who may then do what is decided per call, by {@link PeerAuth}). Extending the extended trust
 * manager keeps JSSE from adding its own host name check: the name checked is the configured one.
 */
final class PeerTrust extends X509ExtendedTrustManager {
  private final TrustMaterial cas; // null: no CA (pinned or skip-verify)
  private final String expectedName; // empty: no name check
  private final Set<String> pins; // upper-case colon hex; empty: no pin
  private final boolean verify;
  private final java.util.function.Consumer<X509Certificate> onVerified;

  PeerTrust(TrustMaterial cas, String expectedName, Set<String> pins, boolean verify) {
    this(cas, expectedName, pins, verify, c -> { });
  }

  /** {@code onVerified}: told of each server certificate that passed (not under skip-verify, where none is checked). */
  PeerTrust(TrustMaterial cas, String expectedName, Set<String> pins, boolean verify, java.util.function.Consumer<X509Certificate> onVerified) {
    this.onVerified = onVerified;
    this.cas = cas;
    this.expectedName = expectedName;
    this.pins = pins;
    this.verify = verify;
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checkServer(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkServer(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    checkServer(chain, authType);
  }

  private void checkServer(X509Certificate[] chain, String authType) throws CertificateException {
    if (!verify) {
      return;
    }
    if (!pins.isEmpty()) {
      String fingerprint;
      try {
        fingerprint = Certificates.fingerprint(chain[0]);
      } catch (GeneralSecurityException e) {
        throw new CertificateException("cannot take the certificate's fingerprint: " + e.getMessage(), e);
      }
      if (!pins.contains(fingerprint)) {
        throw new CertificateException("the server's certificate (" + chain[0].getSubjectX500Principal().getName() + ", SHA-256 "
            + fingerprint + ") is not the pinned one");
      }
    }
    if (cas != null) {
      cas.manager().checkServerTrusted(chain, authType);
    }
    if (!expectedName.isEmpty() && !names(chain[0], expectedName)) {
      throw new CertificateException("the server's certificate (" + chain[0].getSubjectX500Principal().getName() + ", names "
          + safeNames(chain[0]) + ") is not for " + expectedName);
    }
    onVerified.accept(chain[0]);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    if (cas == null) {
      throw new CertificateException("no CA bundle to check client certificates against");
    }
    cas.manager().checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return cas == null ? new X509Certificate[0] : cas.manager().getAcceptedIssuers();
  }

  /** Whether {@code c} is for {@code name}: a DNS SAN (a leading {@code *.} matches one label), an IP SAN, or the CN when it has no SAN. */
  static boolean names(X509Certificate c, String name) {
    List<String> sans;
    try {
      sans = Certificates.subjectAltNames(c);
    } catch (java.security.cert.CertificateParsingException e) {
      return false;
    }
    if (Certificates.isIp(name)) {
      return sans.stream().filter(s -> s.startsWith("IP:")).anyMatch(s -> sameAddress(s.substring(3), name));
    }
    String wanted = name.toLowerCase(Locale.ROOT);
    List<String> dns = sans.stream().filter(s -> s.startsWith("DNS:")).map(s -> s.substring(4).toLowerCase(Locale.ROOT)).toList();
    if (dns.isEmpty()) {
      return wanted.equalsIgnoreCase(Identities.commonName(c));
    }
    return dns.stream().anyMatch(d -> d.equals(wanted)
        || (d.startsWith("*.") && wanted.endsWith(d.substring(1)) && wanted.indexOf('.') == wanted.length() - d.length() + 1));
  }

  private static boolean sameAddress(String a, String b) {
    try {
      return InetAddress.getByName(a).equals(InetAddress.getByName(b));
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static String safeNames(X509Certificate c) {
    try {
      return Certificates.subjectAltNames(c).toString();
    } catch (java.security.cert.CertificateParsingException e) {
      return "(unreadable)";
    }
  }
}
