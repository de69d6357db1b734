package io.github.dpucoordinator.common.tls;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates as the project uses them, through BouncyCastle's PKIX (no hand-made ASN.1): a lab CA and the
 * certificates it signs (EC P-256, SHA-256), PEM files written and read (a chain; a PKCS#8 or PKCS#1 key), and what an
 * operator wants to know of one (subject, SANs, SHA-256 fingerprint, expiry).
 */
public final class Certificates {
  private Certificates() {}

  /** A certificate with its private key. */
  public record Issued(X509Certificate certificate, PrivateKey key) {}

  /** A self-signed CA named {@code cn}, valid for {@code validity} from now. */
  public static Issued authority(String cn, Duration validity) throws GeneralSecurityException {
    KeyPair pair = keyPair();
    X500Name name = new X500Name("CN=" + escape(cn));
    Instant now = Instant.now();
    try {
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minusSeconds(300)),
          Date.from(now.plus(validity)), name, pair.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
      return new Issued(sign(b, pair.getPrivate()), pair.getPrivate());
    } catch (IOException | org.bouncycastle.operator.OperatorCreationException e) {
      throw new GeneralSecurityException("cannot make the CA " + cn + ": " + e.getMessage(), e);
    }
  }

  /**
   * A certificate for {@code cn} signed by {@code ca}, for TLS servers and clients both (an NPU, a DPU and the admin
   * client each act as one or the other), with {@code dnsNames} and {@code ips} as its subject alternative names.
   */
  public static Issued issue(Issued ca, String cn, List<String> dnsNames, List<String> ips, Duration validity) throws GeneralSecurityException {
    KeyPair pair = keyPair();
    Instant now = Instant.now();
    try {
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca.certificate(), serial(), Date.from(now.minusSeconds(300)),
          Date.from(now.plus(validity)), new X500Name("CN=" + escape(cn)), pair.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth,
          KeyPurposeId.id_kp_clientAuth}));
      List<GeneralName> names = new ArrayList<>();
      dnsNames.forEach(d -> names.add(new GeneralName(GeneralName.dNSName, d)));
      ips.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip)));
      if (!names.isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
      }
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.certificate()));
      return new Issued(sign(b, ca.key()), pair.getPrivate());
    } catch (IOException | org.bouncycastle.operator.OperatorCreationException e) {
      throw new GeneralSecurityException("cannot issue a certificate for " + cn + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes the certificate (then {@code chain}) to {@code certFile} and the key, created readable by its owner only, to
   * {@code keyFile}, which must not exist yet.
   */
  public static void write(Issued issued, Path certFile, Path keyFile, X509Certificate... chain) throws IOException {
    StringWriter certs = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(certs)) {
      w.writeObject(issued.certificate());
      for (X509Certificate c : chain) {
        w.writeObject(c);
      }
    }
    Files.writeString(certFile, certs.toString(), StandardCharsets.UTF_8);
    StringWriter key = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(key)) {
      w.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(issued.key(), null));
    }
    // created owner-only, never loosened, never replaced: a file system without POSIX modes fails here, as it should
    Files.createFile(keyFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(keyFile, key.toString(), StandardCharsets.UTF_8);
  }

  /** The certificates of a PEM file, in order (a chain: the leaf first). */
  public static List<X509Certificate> readChain(Path file) throws IOException, GeneralSecurityException {
    List<X509Certificate> out = new ArrayList<>();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8); PEMParser p = new PEMParser(r)) {
      JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
      for (Object o = p.readObject(); o != null; o = p.readObject()) {
        if (o instanceof X509CertificateHolder h) {
          out.add(converter.getCertificate(h));
        }
      }
    }
    if (out.isEmpty()) {
      throw new GeneralSecurityException(file + " holds no PEM certificate");
    }
    return out;
  }

  /** The private key of a PEM file: PKCS#8 ({@code PRIVATE KEY}) or PKCS#1/SEC1 ({@code RSA PRIVATE KEY}, {@code EC PRIVATE KEY}). */
  public static PrivateKey readKey(Path file) throws IOException, GeneralSecurityException {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8); PEMParser p = new PEMParser(r)) {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      for (Object o = p.readObject(); o != null; o = p.readObject()) {
        if (o instanceof PEMKeyPair pair) {
          return converter.getKeyPair(pair).getPrivate();
        }
        if (o instanceof PrivateKeyInfo info) {
          return converter.getPrivateKey(info);
        }
      }
    }
    throw new GeneralSecurityException(file + " holds no unencrypted PEM private key (PKCS#8 or PKCS#1)");
  }

  /** Whether {@code key} is the private half of {@code certificate}'s public key (a signature made and checked). */
  public static boolean matches(PrivateKey key, X509Certificate certificate) {
    try {
      String algorithm = key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
      java.security.Signature s = java.security.Signature.getInstance(algorithm);
      s.initSign(key);
      byte[] data = "dpu-coordinator".getBytes(StandardCharsets.UTF_8);
      s.update(data);
      byte[] signature = s.sign();
      s.initVerify(certificate.getPublicKey());
      s.update(data);
      return s.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** The SHA-256 fingerprint of the certificate's DER form, as colon-separated hex (as openssl prints it). */
  public static String fingerprint(X509Certificate c) throws GeneralSecurityException {
    String hex = HexFormat.of().withUpperCase().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
    return String.join(":", hex.split("(?<=\\G..)"));
  }

  /** Its subject alternative names, as {@code DNS:name} and {@code IP:address}. */
  public static List<String> subjectAltNames(X509Certificate c) throws CertificateParsingException {
    List<String> out = new ArrayList<>();
    Collection<List<?>> names = c.getSubjectAlternativeNames();
    if (names != null) {
      for (List<?> n : names) {
        int type = (Integer) n.get(0);
        out.add((type == GeneralName.dNSName ? "DNS:" : type == GeneralName.iPAddress ? "IP:" : type + ":") + n.get(1));
      }
    }
    return out;
  }

  private static KeyPair keyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
    return g.generateKeyPair();
  }

  private static BigInteger serial() {
    return new BigInteger(127, new SecureRandom()).add(BigInteger.ONE);
  }

  private static X509Certificate sign(JcaX509v3CertificateBuilder b, PrivateKey issuer)
      throws org.bouncycastle.operator.OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuer)));
  }

  private static String escape(String cn) {
    return cn.replaceAll("([,+\"\\\\<>;=])", "\\\\$1");
  }

  /** Whether {@code text} is an IP address literal (v4 or v6), for sorting names into DNS and IP SANs. */
  public static boolean isIp(String text) {
    if (!text.matches("[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*")) {
      return false;
    }
    try {
      InetAddress.getByName(text);
      return true;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }
}
