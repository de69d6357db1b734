package io.github.dpucoordinator.common.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A CA bundle (PEM) as a PKIX trust manager, re-read when the file changes (looked at no more often than {@code recheck}). */
public final class TrustMaterial {
  private static final Logger log = LoggerFactory.getLogger(TrustMaterial.class);

  private record Loaded(X509ExtendedTrustManager manager, FileTime time, int count) {}

  private final String key;
  private final Path file;
  private final Recheck recheck;
  private volatile Loaded current;

  public TrustMaterial(String key, Path file, Duration recheck) {
    this.key = key;
    this.file = file;
    this.recheck = new Recheck(recheck);
    this.current = load();
  }

  /** The trust manager of the bundle, re-read first if the file changed. */
  public X509ExtendedTrustManager manager() {
    if (recheck.due()) {
      try {
        if (!Files.getLastModifiedTime(file).equals(current.time())) {
          current = load();
          log.info("TLS: {} = {} re-read: {} CA certificate(s)", key, file, current.count());
        }
      } catch (IOException | TlsConfigException e) {
        log.error("TLS: {} = {} changed but cannot be used ({}); the CA bundle in use is kept", key, file, e.getMessage());
      }
    }
    return current.manager();
  }

  private Loaded load() {
    FileTime time = TlsConfigException.mtime(key, file);
    List<X509Certificate> cas = TlsConfigException.read(key, file, () -> Certificates.readChain(file));
    return TlsConfigException.read(key, file, () -> {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < cas.size(); i++) {
        store.setCertificateEntry("ca-" + i, cas.get(i));
      }
      TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
      f.init(store);
      for (TrustManager tm : f.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          return new Loaded(x, time, cas.size());
        }
      }
      throw new GeneralSecurityException("no X.509 trust manager for the bundle");
    });
  }
}
