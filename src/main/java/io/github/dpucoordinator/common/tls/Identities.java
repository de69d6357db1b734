package io.github.dpucoordinator.common.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/** Who a certificate says its holder is: its subject CN, or its DNS and URI subject alternative names ({@code identity-from}). */
public final class Identities {
  public static final String CN = "cn";
  public static final String SAN = "san";

  private Identities() {}

  /** The identities of {@code c} by {@code from} ({@link #CN} or {@link #SAN}); the first one is the one logs name. */
  public static List<String> of(X509Certificate c, String from) {
    if (from.equals(CN)) {
      String cn = commonName(c);
      return cn.isEmpty() ? List.of() : List.of(cn);
    }
    List<String> out = new ArrayList<>();
    try {
      for (String san : Certificates.subjectAltNames(c)) {
        if (san.startsWith("DNS:")) {
          out.add(san.substring(4));
        } else if (san.startsWith("6:")) { // uniformResourceIdentifier, e.g. spiffe://...
          out.add(san.substring(2));
        }
      }
    } catch (CertificateParsingException e) {
      return List.of();
    }
    return out;
  }

  /** The subject's CN, or "" when it has none. */
  public static String commonName(X509Certificate c) {
    try {
      for (Rdn rdn : new LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return String.valueOf(rdn.getValue());
        }
      }
    } catch (InvalidNameException e) {
      return "";
    }
    return "";
  }
}
