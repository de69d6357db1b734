package io.github.dpucoordinator.e2e;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of the test's own for DPUs, reached from this host over one veth pair per DPU (10.O.i.1 here,
 * 10.O.i.2 there, a /30 each, O chosen so that no route of the host overlaps), with the faults a switch sees: a
 * partition (nft drops every packet of the DPU's address inside the namespace, so connections hang rather than close)
 * and random loss (nft numgen, both ways); latency is {@link LabDpus}' delaying relay, as the kernel here has no
 * sch_netem. {@link #close} deletes the namespace, which takes the veth pairs, their routes and the nft table with it;
 * nothing outside is changed otherwise. Needs root, {@code ip} and {@code nft}.
 */
final class NetLab implements AutoCloseable {
  final String ns;
  private final String tag;
  private final int octet;
  private final int dpus;
  private final List<Process> processes = new ArrayList<>();

  private NetLab(String tag, int octet, int dpus) {
    this.tag = tag;
    this.ns = "dpuc-" + tag;
    this.octet = octet;
    this.dpus = dpus;
  }

  /** A namespace with {@code dpus} veth pairs; removed again if any step fails. */
  static NetLab create(int dpus) throws Exception {
    Random random = new Random();
    String tag = String.format("%06x", random.nextInt(1 << 24));
    String routes = run("ip", "-4", "route", "show", "table", "all") + run("ip", "-4", "-o", "addr");
    int octet = -1;
    for (int i = 0; i < 50 && octet < 0; i++) {
      int candidate = 200 + random.nextInt(50);
      if (!routes.contains("10." + candidate + ".")) {
        octet = candidate;
      }
    }
    if (octet < 0) {
      throw new IllegalStateException("no free 10.x/16 for the lab; routes:\n" + routes);
    }
    NetLab lab = new NetLab(tag, octet, dpus);
    try {
      run("ip", "netns", "add", lab.ns);
      run("ip", "-n", lab.ns, "link", "set", "lo", "up");
      for (int i = 0; i < dpus; i++) {
        run("ip", "link", "add", lab.hostEnd(i), "type", "veth", "peer", "name", lab.dpuEnd(i), "netns", lab.ns);
        run("ip", "addr", "add", "10." + octet + "." + i + ".1/30", "dev", lab.hostEnd(i));
        run("ip", "link", "set", lab.hostEnd(i), "up");
        run("ip", "-n", lab.ns, "addr", "add", lab.address(i) + "/30", "dev", lab.dpuEnd(i));
        run("ip", "-n", lab.ns, "link", "set", lab.dpuEnd(i), "up");
      }
      lab.inNs("nft", "add table inet lab; add set inet lab cut { type ipv4_addr; };"
          + " add chain inet lab input { type filter hook input priority 0; policy accept; };"
          + " add chain inet lab output { type filter hook output priority 0; policy accept; };"
          + " add rule inet lab input ip daddr @cut drop; add rule inet lab output ip saddr @cut drop");
      return lab;
    } catch (Exception e) {
      lab.close();
      throw e;
    }
  }

  /** DPU {@code i}'s address inside the namespace. */
  String address(int i) {
    return "10." + octet + "." + i + ".2";
  }

  private String hostEnd(int i) {
    return "dch" + tag + i;
  }

  private String dpuEnd(int i) {
    return "dcd" + tag + i;
  }

  /** Every packet to or from DPU {@code i} is dropped from now on: its connections hang, nothing is refused. */
  void cut(int i) throws Exception {
    inNs("nft", "add element inet lab cut { " + address(i) + " }");
  }

  void heal(int i) throws Exception {
    inNs("nft", "delete element inet lab cut { " + address(i) + " }");
  }

  /**
   * Drops {@code percent} % of the packets to DPU {@code i} and as many of its own, at random (nft numgen: this kernel
   * has no sch_netem).
   */
  void loss(int i, int percent) throws Exception {
    inNs("nft", "add rule inet lab input ip daddr " + address(i) + " numgen random mod 100 < " + percent + " drop;"
        + " add rule inet lab output ip saddr " + address(i) + " numgen random mod 100 < " + percent + " drop");
  }

  /** {@code command} inside the namespace, its output appended to {@code output}; killed at {@link #close} if still running. */
  Process start(List<String> command, Map<String, String> env, Path output) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    cmd.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
    pb.environment().putAll(env);
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  /** The namespace's, this host's veth ends and whatever else carries the lab's tag: none once closed. */
  static String leftovers(String tag) throws Exception {
    return (run("ip", "netns", "list") + run("ip", "-o", "link")).lines().filter(l -> l.contains(tag))
        .reduce("", (a, b) -> a + b + "\n");
  }

  String tag() {
    return tag;
  }

  private void inNs(String... command) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    cmd.addAll(List.of(command));
    run(cmd.toArray(String[]::new));
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + ": no exit within 20 s");
    }
    String out = new String(p.getInputStream().readAllBytes());
    if (p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + ": exit " + p.exitValue() + ": " + out.strip());
    }
    return out;
  }

  @Override
  public void close() {
    for (Process p : processes) {
      p.destroyForcibly();
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      run("ip", "netns", "del", ns);
    } catch (Exception ignored) {
      // not created
    }
    for (int i = 0; i < dpus; i++) {
      try {
        run("ip", "link", "del", hostEnd(i)); // gone with its peer already, unless the namespace never held the peer
      } catch (Exception ignored) {
        // already gone
      }
    }
  }
}
