package io.github.dpucoordinator.cli;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import picocli.CommandLine.Option;

/** {@code --tls-ca/--tls-cert/--tls-key}: reach the NPU service over (mutual) TLS; they set dpu-coordinator.cli.tls. */
final class TlsOptions {
  static final String KEY = "dpu-coordinator.cli.tls";

  @Option(names = "--tls-ca", paramLabel = "PEM", description = "CA bundle the service's certificate is checked against (sets mode tls).")
  String ca;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Your client certificate (mutual TLS), e.g. admin.pem from dpuctl certs init.")
  String cert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "Its private key.")
  String key;

  @Option(names = "--tls-server-name", paramLabel = "NAME", description = "The name the service's certificate must carry (default: the host dialled).")
  String serverName;

  /** {@code config} with the options given on the command line over its dpu-coordinator.cli.tls. */
  Config apply(Config config) {
    Config c = config;
    if (ca != null) {
      c = AppConfig.with(AppConfig.with(c, KEY + ".mode", "tls"), KEY + ".ca", ca);
    }
    if (cert != null) {
      c = AppConfig.with(c, KEY + ".cert", cert);
    }
    if (key != null) {
      c = AppConfig.with(c, KEY + ".key", key);
    }
    if (serverName != null) {
      c = AppConfig.with(c, KEY + ".server-name", serverName);
    }
    return c;
  }
}
