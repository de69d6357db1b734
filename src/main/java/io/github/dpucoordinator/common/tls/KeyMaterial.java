package io.github.dpucoordinator.common.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A certificate chain and its private key from two PEM files, named by the config keys they came from. Checked when
 * made (readable, matching, in its validity period: else {@link TlsConfigException} naming the key) and re-read when
 * either file changes (looked at no more often than {@code recheck}), so a rotated certificate serves the next
 * handshake without a restart. A rotation that does not check out is logged and the material in use is kept.
 */
public final class KeyMaterial {
  private static final Logger log = LoggerFactory.getLogger(KeyMaterial.class);

  /** One loaded pair. */
  public record Loaded(List<X509Certificate> chain, PrivateKey key, FileTime certTime, FileTime keyTime) {
    public X509Certificate leaf() {
      return chain.get(0);
    }
  }

  private final String certKey;
  private final String keyKey;
  private final Path certFile;
  private final Path keyFile;
  private final Recheck recheck;
  private final Duration warnBefore;
  private final Clock clock;
  private volatile Loaded current;

  public KeyMaterial(String certKey, Path certFile, String keyKey, Path keyFile, Duration recheck, Duration warnBefore, Clock clock) {
    this.certKey = certKey;
    this.keyKey = keyKey;
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.recheck = new Recheck(recheck);
    this.warnBefore = warnBefore;
    this.clock = clock;
    this.current = load();
    warnIfExpiring(current);
  }

  /** The pair in use, re-read first if a file changed since it was loaded. */
  public Loaded current() {
    if (recheck.due()) {
      refresh();
    }
    return current;
  }

  /** Where the certificate came from (its config key and file), for logs and status. */
  public String source() {
    return certKey + " = " + certFile;
  }

  /** Whether the certificate in use expires within {@code tls.warn-before}. */
  public boolean expiresSoon() {
    return current.leaf().getNotAfter().toInstant().isBefore(clock.instant().plus(warnBefore));
  }

  private void refresh() {
    Loaded was = current;
    try {
      if (Files.getLastModifiedTime(certFile).equals(was.certTime()) && Files.getLastModifiedTime(keyFile).equals(was.keyTime())) {
        return;
      }
    } catch (IOException e) {
      log.error("TLS: cannot look at {} or {} ({}); the certificate in use is kept", certFile, keyFile, e.toString());
      return;
    }
    try {
      Loaded next = load();
      current = next;
      log.info("TLS: {} re-read: now {} (until {}, SHA-256 {})", source(), next.leaf().getSubjectX500Principal().getName(),
          next.leaf().getNotAfter().toInstant(), Certificates.fingerprint(next.leaf()));
      warnIfExpiring(next);
    } catch (TlsConfigException | GeneralSecurityException e) {
      // a half-written rotation (the certificate copied, the key not yet) lands here until both files are in place
      log.error("TLS: {} changed but cannot be used ({}); the certificate in use is kept", source(), e.getMessage());
    }
  }

  private Loaded load() {
    FileTime certTime = TlsConfigException.mtime(certKey, certFile);
    FileTime keyTime = TlsConfigException.mtime(keyKey, keyFile);
    List<X509Certificate> chain = TlsConfigException.read(certKey, certFile, () -> Certificates.readChain(certFile));
    PrivateKey key = TlsConfigException.read(keyKey, keyFile, () -> Certificates.readKey(keyFile));
    if (!Certificates.matches(key, chain.get(0))) {
      throw new TlsConfigException(keyKey + " (" + keyFile + ") is not the key of the certificate in " + certKey + " (" + certFile + ")");
    }
    TlsConfigException.checkValidity(certKey, certFile, chain.get(0), clock.instant());
    return new Loaded(chain, key, certTime, keyTime);
  }

  private void warnIfExpiring(Loaded l) {
    Instant notAfter = l.leaf().getNotAfter().toInstant();
    if (notAfter.isBefore(clock.instant().plus(warnBefore))) {
      log.warn("TLS: the certificate of {} ({}) expires {} (within dpu-coordinator.tls.warn-before = {}): rotate it", source(),
          l.leaf().getSubjectX500Principal().getName(), notAfter, warnBefore);
    }
  }
}
