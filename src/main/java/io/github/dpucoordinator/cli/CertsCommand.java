package io.github.dpucoordinator.cli;

import io.github.dpucoordinator.common.tls.Certificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dpuctl certs`: a lab CA with the NPU's, the DPUs' and an admin's certificates; and what a certificate file holds. */
@Command(name = "certs", mixinStandardHelpOptions = true, description = "Certificates for TLS: `certs init` (a lab CA and its certificates), "
    + "`certs show FILE`.", subcommands = {CertsCommand.Init.class, CertsCommand.Show.class}, footer = ExitCodes.HELP)
final class CertsCommand {
  @Command(name = "init", mixinStandardHelpOptions = true, footer = ExitCodes.HELP, description = {
      "Make a lab CA in DIR and sign with it: the NPU's certificate, one per DPU, and an admin client's.",
      "Each names itself in its CN and carries localhost, 127.0.0.1 and ::1 (for loopback tests) beside --san names.",
      "Files: ca.pem ca-key.pem npu.pem npu-key.pem <DPU>.pem <DPU>-key.pem admin.pem admin-key.pem (keys mode 600).",
      "For a lab: a production CA is the operator's."})
  static final class Init implements Callable<Integer> {
    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "Where the files go (made if missing; existing files are kept: refused).")
    Path dir;

    @Option(names = "--npu", defaultValue = "npu", paramLabel = "NAME", description = "The NPU's name (its CN and a DNS SAN; default ${DEFAULT-VALUE}).")
    String npu;

    @Option(names = "--dpu", paramLabel = "ID", description = "A DPU's id (its CN and a DNS SAN); repeatable.")
    List<String> dpus = new ArrayList<>();

    @Option(names = "--admin", defaultValue = "admin", paramLabel = "NAME", description = "The admin client's CN (default ${DEFAULT-VALUE}).")
    String admin;

    @Option(names = "--client", paramLabel = "NAME", description = "Another client's certificate (e.g. viewer, operator); repeatable.")
    List<String> clients = new ArrayList<>();

    @Option(names = "--san", paramLabel = "NAME|IP", description = "Another name or address for every certificate; repeatable.")
    List<String> sans = new ArrayList<>();

    @Option(names = "--days", defaultValue = "825", paramLabel = "N", description = "Validity in days (default ${DEFAULT-VALUE}; the CA: ten times).")
    int days;

    @Override
    public Integer call() throws Exception {
      if (days < 1) {
        System.err.println("dpuctl certs init: --days must be at least 1, not " + days);
        return ExitCodes.USAGE;
      }
      List<String> names = new ArrayList<>(List.of("ca", "npu", admin));
      names.addAll(dpus);
      names.addAll(clients);
      Files.createDirectories(dir);
      for (String n : names) {
        for (Path f : List.of(dir.resolve(n + ".pem"), dir.resolve(n + "-key.pem"))) {
          if (Files.exists(f)) {
            System.err.println("dpuctl certs init: " + f + " exists; nothing was written (move it away, or use another --dir)");
            return ExitCodes.REFUSED;
          }
        }
      }
      Duration validity = Duration.ofDays(days);
      Certificates.Issued ca = Certificates.authority("dpu-coordinator lab CA", validity.multipliedBy(10));
      Certificates.write(ca, dir.resolve("ca.pem"), dir.resolve("ca-key.pem"));
      List<String> written = new ArrayList<>(List.of(describe("ca.pem", ca.certificate())));
      written.add(issue(ca, "npu", npu, validity));
      for (String dpu : dpus) {
        written.add(issue(ca, dpu, dpu, validity));
      }
      written.add(issue(ca, admin, admin, validity));
      for (String client : clients) {
        written.add(issue(ca, client, client, validity));
      }
      written.forEach(System.out::println);
      return ExitCodes.OK;
    }

    private String issue(Certificates.Issued ca, String file, String cn, Duration validity) throws Exception {
      List<String> dns = new ArrayList<>(List.of(cn, "localhost"));
      List<String> ips = new ArrayList<>(List.of("127.0.0.1", "::1"));
      sans.forEach(s -> (Certificates.isIp(s) ? ips : dns).add(s));
      Certificates.Issued c = Certificates.issue(ca, cn, dns, ips, validity);
      Certificates.write(c, dir.resolve(file + ".pem"), dir.resolve(file + "-key.pem"), ca.certificate());
      return describe(file + ".pem", c.certificate());
    }

    private static String describe(String file, X509Certificate c) {
      return String.format("%-14s %s, until %s", file, c.getSubjectX500Principal().getName(), c.getNotAfter().toInstant());
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true, footer = ExitCodes.HELP,
      description = "Subject, issuer, SANs, SHA-256 fingerprint and expiry of each certificate in a PEM file.")
  static final class Show implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "A PEM certificate (or chain).")
    Path file;

    @Override
    public Integer call() {
      List<X509Certificate> chain;
      try {
        chain = Certificates.readChain(file);
      } catch (Exception e) {
        System.err.println("dpuctl certs show: " + file + ": " + Systems.rootMessage(e));
        return ExitCodes.REFUSED;
      }
      try {
        for (X509Certificate c : chain) {
          Instant until = c.getNotAfter().toInstant();
          System.out.printf("subject:     %s%nissuer:      %s%nSANs:        %s%nsha256:      %s%nnot before:  %s%nnot after:   %s%s%n%n",
              c.getSubjectX500Principal().getName(), c.getIssuerX500Principal().getName(), String.join(", ", Certificates.subjectAltNames(c)),
              Certificates.fingerprint(c), c.getNotBefore().toInstant(), until, until.isBefore(Instant.now()) ? " (EXPIRED)" : "");
        }
      } catch (Exception e) {
        System.err.println("dpuctl certs show: " + file + ": " + Systems.rootMessage(e));
        return ExitCodes.REFUSED;
      }
      return ExitCodes.OK;
    }
  }
}
