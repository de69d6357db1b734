package io.github.dpucoordinator.common.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/** Presents {@link KeyMaterial}'s current pair in every handshake, as a server or as a client. */
final class ReloadingKeyManager extends X509ExtendedKeyManager {
  private static final String ALIAS = "current";
  private final KeyMaterial material;

  ReloadingKeyManager(KeyMaterial material) {
    this.material = material;
  }

  private String aliasFor(String keyType) {
    String algorithm = material.current().key().getAlgorithm(); // "EC" or "RSA"
    boolean fits = keyType == null || keyType.startsWith(algorithm) || (algorithm.equals("RSA") && keyType.equals("RSASSA-PSS"));
    return fits ? ALIAS : null;
  }

  private String aliasFor(String[] keyTypes) {
    for (String t : keyTypes) {
      if (aliasFor(t) != null) {
        return ALIAS;
      }
    }
    return null;
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return aliasFor(keyType);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
    return aliasFor(keyTypes);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return aliasFor(keyType);
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    return aliasFor(keyTypes);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return aliasFor(keyType) == null ? null : new String[] {ALIAS};
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return getServerAliases(keyType, issuers);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return ALIAS.equals(alias) ? material.current().chain().toArray(X509Certificate[]::new) : null;
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return ALIAS.equals(alias) ? material.current().key() : null;
  }
}
