package io.github.dpucoordinator.common.tls;

import com.typesafe.config.Config;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import javax.net.ssl.SSLException;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * How a gRPC client of this project reaches its server: {@code plaintext}, {@code tls} (the server's certificate checked
 * against {@code ca} and named {@code server-name}, by default the host dialled, or matching {@code pin}, a SHA-256
 * fingerprint), or {@code tls-skip-verify} (encrypted, the server not checked: for self-signed DPU certificates, and
 * said to be insecure wherever it is described). With {@code cert} and {@code key} it presents a client certificate
 * (mutual TLS). Files are re-read when they change.
 */
public final class ClientTls {
  public static final String PLAINTEXT = "plaintext";
  public static final String TLS = "tls";
  public static final String SKIP_VERIFY = "tls-skip-verify";

  private final String prefix;
  private final String mode;
  private final TrustMaterial cas;
  private final Set<String> pins;
  private final String serverName;
  private final KeyMaterial keys;

  private ClientTls(String prefix, String mode, TrustMaterial cas, Set<String> pins, String serverName, KeyMaterial keys) {
    this.prefix = prefix;
    this.mode = mode;
    this.cas = cas;
    this.pins = pins;
    this.serverName = serverName;
    this.keys = keys;
  }

  public static ClientTls plaintext() {
    return new ClientTls("", PLAINTEXT, null, Set.of(), "", null);
  }

  /**
   * The client settings in block {@code c}, whose keys are {@code prefix}.mode, ca, server-name, pin, cert and key;
   * {@code tls} the global dpu-coordinator.tls block (recheck, warn-before). Settings that cannot work are refused
   * naming the key. {@link #at}: the block at {@code key} of {@code root}.
   */
  public static ClientTls at(Config root, String key) {
    return from(root.getConfig(key), key, root.getConfig("dpu-coordinator.tls"));
  }

  /** As {@link #at}, for a block {@code c} that is not at {@code prefix} in a root (a DPU's own block over the default). */
  public static ClientTls from(Config c, String prefix, Config tls) {
    String mode = c.getString("mode").toLowerCase(Locale.ROOT);
    if (!Set.of(PLAINTEXT, TLS, SKIP_VERIFY).contains(mode)) {
      throw new TlsConfigException(prefix + ".mode must be plaintext, tls or tls-skip-verify, not '" + mode + "'");
    }
    String ca = c.getString("ca");
    String cert = c.getString("cert");
    String key = c.getString("key");
    Set<String> pins = Arrays.stream(c.getString("pin").split(",")).map(String::trim).filter(s -> !s.isEmpty())
        .map(p -> p.toUpperCase(Locale.ROOT).replace("SHA256:", "")).collect(Collectors.toUnmodifiableSet());
    if (mode.equals(PLAINTEXT)) {
      return plaintext();
    }
    if (mode.equals(TLS) && ca.isEmpty() && pins.isEmpty()) {
      throw new TlsConfigException(prefix + ".mode = tls needs " + prefix + ".ca (a CA bundle) or " + prefix
          + ".pin (the server certificate's SHA-256 fingerprint); for a self-signed server that cannot be pinned: tls-skip-verify");
    }
    if (cert.isEmpty() != key.isEmpty()) {
      throw new TlsConfigException(prefix + ".cert and " + prefix + ".key go together (a client certificate needs its key)");
    }
    pins.forEach(p -> {
      if (!p.matches("([0-9A-F]{2}:){31}[0-9A-F]{2}")) {
        throw new TlsConfigException(prefix + ".pin: '" + p + "' is not a SHA-256 fingerprint (32 colon-separated hex bytes, as dpuctl certs show prints)");
      }
    });
    java.time.Duration recheck = tls.getDuration("recheck");
    TrustMaterial trust = mode.equals(TLS) && !ca.isEmpty() ? new TrustMaterial(prefix + ".ca", Path.of(ca), recheck) : null;
    KeyMaterial material = cert.isEmpty() ? null
        : new KeyMaterial(prefix + ".cert", Path.of(cert), prefix + ".key", Path.of(key), recheck, tls.getDuration("warn-before"), Clock.systemUTC());
    return new ClientTls(prefix, mode, trust, pins, c.getString("server-name"), material);
  }

  public boolean plain() {
    return mode.equals(PLAINTEXT);
  }

  public boolean insecure() {
    return mode.equals(SKIP_VERIFY);
  }

  /** The client certificate's material, if it presents one. */
  public java.util.Optional<KeyMaterial> keys() {
    return java.util.Optional.ofNullable(keys);
  }

  /** {@code settings} (made for {@code host}) with this transport security. */
  public GrpcClientSettings apply(GrpcClientSettings settings, String host) {
    return apply(settings, host, c -> { });
  }

  /** As {@link #apply(GrpcClientSettings, String)}; {@code onVerified} is told of each server certificate that was checked and passed. */
  public GrpcClientSettings apply(GrpcClientSettings settings, String host, java.util.function.Consumer<java.security.cert.X509Certificate> onVerified) {
    if (plain()) {
      return settings.withTls(false);
    }
    SslContext context = context(host, onVerified);
    scala.Function1<NettyChannelBuilder, NettyChannelBuilder> tlsOn = builder -> builder.useTransportSecurity().sslContext(context);
    GrpcClientSettings out = settings.withTls(true).withChannelBuilderOverrides(tlsOn);
    return serverName.isEmpty() ? out : out.withOverrideAuthority(serverName);
  }

  /**
   * A plain grpc-java channel (to build) to {@code host}:{@code port} with this transport security, for a caller that makes a
   * call or two and has no actor system (the CLI): nothing of Pekko is started for it.
   */
  public NettyChannelBuilder channel(String host, int port) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(host, port);
    if (plain()) {
      return b.usePlaintext();
    }
    b.useTransportSecurity().sslContext(context(host, c -> { }));
    return serverName.isEmpty() ? b : b.overrideAuthority(serverName);
  }

  private SslContext context(String host, java.util.function.Consumer<java.security.cert.X509Certificate> onVerified) {
    String expected = mode.equals(SKIP_VERIFY) ? "" : !serverName.isEmpty() ? serverName : pins.isEmpty() ? host : "";
    PeerTrust trust = new PeerTrust(cas, expected, pins, !mode.equals(SKIP_VERIFY), onVerified);
    try {
      SslContextBuilder b = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK).trustManager(trust);
      if (keys != null) {
        b.keyManager(new ReloadingKeyManager(keys));
      }
      return b.build();
    } catch (SSLException e) {
      throw new TlsConfigException(prefix + ": cannot make a TLS client context (" + e.getMessage() + ")");
    }
  }

  /** One line for logs and status: the mode, and what it checks. */
  public String describe() {
    return switch (mode) {
      case PLAINTEXT -> "plaintext";
      case SKIP_VERIFY -> "tls-skip-verify (INSECURE: the server's certificate is not checked)" + (keys == null ? "" : ", client certificate");
      default -> "tls (" + (cas != null ? "CA checked" + (serverName.isEmpty() ? "" : ", as " + serverName) : "") + (cas != null && !pins.isEmpty() ? ", " : "")
          + (pins.isEmpty() ? "" : "pinned") + ")" + (keys == null ? "" : ", client certificate");
    };
  }

  /** For status: this client's mode, whether it is insecure, and its client certificate. */
  public TlsReport report(String endpoint) {
    return TlsReport.of(endpoint, mode, insecure(), keys());
  }
}
