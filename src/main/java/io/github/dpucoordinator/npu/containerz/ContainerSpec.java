package io.github.dpucoordinator.npu.containerz;

import java.util.List;
import java.util.Map;

/**
 * A container as it was asked for, checked: what both runtimes start, and what the process runtime keeps on disk (its
 * record) so that it can start the container again after the service restarts.
 *
 * @param name the instance name
 * @param image the image, by name and tag
 * @param imageId the image's id when the container was made ({@code sha256:...})
 * @param cmd the command that replaces the image's Cmd (empty: the image's)
 * @param env environment added to the image's
 * @param labels labels, including the DPU it runs for ({@link #DPU_LABEL}) when it runs for one
 * @param restart the restart policy
 * @param ports ports it listens on (internal to external)
 * @param user who it runs as, {@code uid[:gid]} (empty: the runtime's default)
 * @param capAdd capabilities added (allowed ones only)
 * @param devices host devices passed, {@code src:dst:permissions} (allowed ones only)
 * @param network the network it joins ("": the runtime's default)
 * @param limits CPU and memory limits
 */
public record ContainerSpec(String name, ImageRef image, String imageId, List<String> cmd, Map<String, String> env,
    Map<String, String> labels, Restart restart, List<Port> ports, String user, List<String> capAdd, List<String> devices, String network,
    Limits limits) {
  /** The label naming the DPU a container runs for. */
  public static final String DPU_LABEL = "dpu";

  public ContainerSpec {
    cmd = List.copyOf(cmd);
    env = Map.copyOf(env);
    labels = Map.copyOf(labels);
    ports = List.copyOf(ports);
    capAdd = capAdd == null ? List.of() : List.copyOf(capAdd); // records written before these existed
    devices = devices == null ? List.of() : List.copyOf(devices);
    network = network == null ? "" : network;
    limits = limits == null ? Limits.NONE : limits;
  }

  /** CPU (cores) and memory (bytes) limits; 0: none. */
  public record Limits(double maxCpu, long softMemBytes, long hardMemBytes) {
    public static final Limits NONE = new Limits(0, 0, 0);

    public boolean any() {
      return maxCpu > 0 || softMemBytes > 0 || hardMemBytes > 0;
    }
  }

  /** When the container is started again: never, always, unless a user stopped it, on a failure (at most {@code attempts}, 0: no bound). */
  public record Restart(Policy policy, int attempts) {
    public enum Policy { NONE, ALWAYS, UNLESS_STOPPED, ON_FAILURE }

    public static final Restart NONE = new Restart(Policy.NONE, 0);

    /** Whether an exit with {@code exitCode}, after {@code restarts} restarts, is followed by another start. */
    public boolean again(int exitCode, int restarts) {
      return switch (policy) {
        case NONE -> false;
        case ALWAYS, UNLESS_STOPPED -> true;
        case ON_FAILURE -> exitCode != 0 && (attempts == 0 || restarts < attempts);
      };
    }

    /** Whether it is started when the service starts: ALWAYS, and UNLESS_STOPPED unless a user stopped it. */
    public boolean atServiceStart(boolean stoppedByUser) {
      return policy == Policy.ALWAYS || policy == Policy.UNLESS_STOPPED && !stoppedByUser;
    }
  }

  public record Port(int internal, int external) {}


  /** The DPU it runs for, or "none". */
  public String dpu() {
    return labels.getOrDefault(DPU_LABEL, "none");
  }
}
