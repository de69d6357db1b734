package io.github.dpucoordinator.common.tls;

import java.util.Optional;

/**
 * What `status` says of one endpoint's transport security: its mode, whether it is insecure (skip-verify), and the
 * certificate it presents (subject, expiry, whether that is within {@code tls.warn-before}).
 */
public record TlsReport(String endpoint, String mode, boolean insecure, String certificate, long notAfterMillis, boolean expiresSoon) {

  static TlsReport of(String endpoint, String mode, boolean insecure, Optional<KeyMaterial> keys) {
    if (keys.isEmpty()) {
      return new TlsReport(endpoint, mode, insecure, "", 0, false);
    }
    KeyMaterial.Loaded l = keys.get().current();
    return new TlsReport(endpoint, mode, insecure, l.leaf().getSubjectX500Principal().getName(), l.leaf().getNotAfter().getTime(),
        keys.get().expiresSoon());
  }
}
