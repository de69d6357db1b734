package io.github.dpucoordinator.npu.containerz;

import io.github.dpucoordinator.npu.containerz.ContainerSpec.Port;
import io.github.dpucoordinator.npu.containerz.ContainerSpec.Restart;
import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import io.github.dpucoordinator.proto.gnoi.containerz.StartContainerRequest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A StartContainerRequest checked and made a {@link ContainerSpec}: the instance name (made up when empty, as Docker
 * does), the restart policy, ports, the user, labels (a {@code dpu} label must name a DPU this NPU has), and the
 * operator's allow-lists: what a request may not ask for is refused FAILED_PRECONDITION naming the option and the key
 * that would allow it.
 */
public final class StartRequests {
  private static final Pattern INSTANCE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  private static final SecureRandom RANDOM = new SecureRandom();

  private final ContainerzSettings.Allow allow;
  private final Set<String> dpus;

  /** {@code dpus}: the DPUs a {@code dpu} label may name (empty: any). */
  public StartRequests(ContainerzSettings.Allow allow, Set<String> dpus) {
    this.allow = allow;
    this.dpus = Set.copyOf(dpus);
  }

  /** The spec for {@code r}, whose image is {@code image} with id {@code imageId}. */
  public ContainerSpec check(StartContainerRequest r, ImageRef image, String imageId) throws ContainerzError {
    String name = r.getInstanceName().isEmpty() ? madeUpName(image) : r.getInstanceName();
    if (!INSTANCE.matcher(name).matches()) {
      throw new ContainerzError(Code.INVALID_ARGUMENT, "instance_name " + quoted(name) + " is not a valid name (letters, digits, "
          + "'_', '.', '-', starting with a letter or digit, at most 128)");
    }
    if (r.getVolumesCount() > 0) {
      throw refused("volumes", "volumes are not supported by this server (CreateVolume is not offered); no key allows them");
    }
    for (String cap : r.getCap().getAddList()) {
      if (!allow.capabilities().contains(cap)) {
        throw refused("cap.add " + cap, "allowed by " + key("allow.capabilities"));
      }
    }
    for (var d : r.getDevicesList()) {
      if (!allow.devices().contains(d.getSrcPath())) {
        throw refused("device " + d.getSrcPath(), "allowed by " + key("allow.devices"));
      }
    }
    if (!allow.networks().contains(r.getNetwork())) {
      throw refused("network " + quoted(r.getNetwork()), "allowed by " + key("allow.networks"));
    }
    String user = userOf(r);
    Map<String, String> labels = new LinkedHashMap<>(r.getLabelsMap());
    String dpu = labels.get(ContainerSpec.DPU_LABEL);
    if (dpu != null && !dpus.isEmpty() && !dpus.contains(dpu)) {
      throw new ContainerzError(Code.INVALID_ARGUMENT, "the label dpu=" + dpu + " names no DPU of this NPU (" + String.join(", ",
          dpus.stream().sorted().toList()) + ")");
    }
    List<String> devices = r.getDevicesList().stream().map(d -> d.getSrcPath() + ":" + (d.getDstPath().isEmpty() ? d.getSrcPath() : d.getDstPath())
        + ":" + permissions(d)).toList();
    var l = r.getLimits();
    if (l.getMaxCpu() < 0 || l.getSoftMemBytes() < 0 || l.getHardMemBytes() < 0) {
      throw new ContainerzError(Code.INVALID_ARGUMENT, "limits must not be negative");
    }
    return new ContainerSpec(name, image, imageId, words(r.getCmd()), r.getEnvironmentMap(), labels, restartOf(r), portsOf(r), user,
        r.getCap().getAddList(), devices, r.getNetwork(), new ContainerSpec.Limits(l.getMaxCpu(), l.getSoftMemBytes(), l.getHardMemBytes()));
  }

  /** Docker's device permissions ("rwm") from the request's; none given: all three. */
  private static String permissions(io.github.dpucoordinator.proto.gnoi.containerz.Device d) {
    StringBuilder p = new StringBuilder();
    d.getPermissionsList().forEach(x -> p.append(switch (x) {
      case READ -> "r";
      case WRITE -> "w";
      case MKNOD -> "m";
      default -> "";
    }));
    return p.length() == 0 ? "rwm" : p.toString();
  }

  private static Restart restartOf(StartContainerRequest r) throws ContainerzError {
    if (!r.hasRestart()) {
      return Restart.NONE;
    }
    var p = r.getRestart();
    if (p.getPolicyValue() < 0 || p.getPolicyValue() > 3) {
      throw new ContainerzError(Code.FAILED_PRECONDITION, "restart policy " + p.getPolicyValue() + " is not one this server knows");
    }
    Restart.Policy policy = Restart.Policy.values()[p.getPolicyValue()];
    if (p.getAttempts() != 0 && policy != Restart.Policy.ON_FAILURE) {
      throw new ContainerzError(Code.FAILED_PRECONDITION, "restart attempts are for ON_FAILURE only, not " + policy);
    }
    return new Restart(policy, p.getAttempts());
  }

  private static List<Port> portsOf(StartContainerRequest r) throws ContainerzError {
    List<Port> ports = new ArrayList<>();
    for (var p : r.getPortsList()) {
      int external = p.getExternal() == 0 ? p.getInternal() : p.getExternal();
      if (p.getInternal() < 1 || p.getInternal() > 65535 || external > 65535) {
        throw new ContainerzError(Code.INVALID_ARGUMENT, "port " + p.getInternal() + ":" + p.getExternal() + " is not a port pair");
      }
      ports.add(new Port(p.getInternal(), external));
    }
    return ports;
  }

  /** {@code uid[:gid]} from run_as (empty when none); root only where allowed. */
  private String userOf(StartContainerRequest r) throws ContainerzError {
    if (!r.hasRunAs() || r.getRunAs().getUser().isEmpty()) {
      return "";
    }
    String user = r.getRunAs().getUser().equals("root") ? "0" : r.getRunAs().getUser();
    String group = r.getRunAs().getGroup().equals("root") ? "0" : r.getRunAs().getGroup();
    if (!user.matches("[0-9]{1,9}") || !group.isEmpty() && !group.matches("[0-9]{1,9}")) {
      throw new ContainerzError(Code.FAILED_PRECONDITION, "run_as must give a numeric uid (and gid), or root; not "
          + quoted(r.getRunAs().getUser() + (group.isEmpty() ? "" : ":" + r.getRunAs().getGroup())));
    }
    if (Integer.parseInt(user) == 0 && !allow.runAsRoot()) {
      throw refused("run_as root", "allowed by " + key("allow.run-as-root"));
    }
    return group.isEmpty() ? user : user + ":" + group;
  }

  private static ContainerzError refused(String what, String how) {
    return new ContainerzError(Code.FAILED_PRECONDITION, what + " is not allowed here (" + how + ")");
  }

  private static String key(String k) {
    return ContainerzSettings.KEY + "." + k;
  }

  private static String madeUpName(ImageRef image) {
    String base = image.name().substring(image.name().lastIndexOf('/') + 1);
    byte[] b = new byte[3];
    RANDOM.nextBytes(b);
    return base + "-" + HexFormat.of().formatHex(b);
  }

  static List<String> words(String cmd) {
    return cmd.isBlank() ? List.of() : Arrays.asList(cmd.trim().split("\\s+"));
  }

  private static String quoted(String s) {
    return "'" + (s.length() > 80 ? s.substring(0, 80) + "..." : s) + "'";
  }
}
