package io.github.dpucoordinator.npu.api;

import com.typesafe.config.Config;
import io.github.dpucoordinator.common.AppConfig;
import io.github.dpucoordinator.common.HostPort;
import io.github.dpucoordinator.common.tls.PeerAuth;
import io.github.dpucoordinator.common.tls.ServerTls;
import io.github.dpucoordinator.common.tls.TlsConfigException;
import io.github.dpucoordinator.npu.settings.NpuSettings;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who may use the NPU service's two APIs. The admin API: loopback by default; bound anywhere else it must be mutual TLS,
 * where {@code viewers} may read (Status, Plan) and {@code operators} may also act (reboot, cancel, module
 * transitions). The DPU-facing API: under mutual TLS, a configured DPU (its certificate names its id) or one of its
 * {@code operators}; what a DPU may do there is then its own business only ({@link DpuNoticeServiceImpl}).
 */
public record ApiAccess(ServerTls admin, PeerAuth.Policy adminPolicy, ServerTls dpuApi, PeerAuth.Policy dpuPolicy, Set<String> dpuOperators) {
  public static final String ADMIN_TLS = "dpu-coordinator.npu.admin.tls";
  public static final String DPU_API_TLS = "dpu-coordinator.npu.dpu-api.tls";
  /** The admin methods a viewer may call (and the reflection service, which only describes). */
  private static final Set<String> READS = Set.of("Status", "Plan");

  public static ApiAccess from(Config root, NpuSettings settings) {
    ServerTls admin = ServerTls.at(root, ADMIN_TLS);
    if (!HostPort.isLoopback(settings.adminHost()) && !admin.mutual()) {
      throw new TlsConfigException("dpu-coordinator.npu.admin.host = " + settings.adminHost() + " is not loopback: the admin API there needs "
          + ADMIN_TLS + ".mode = mtls (and " + ADMIN_TLS + ".viewers / operators)");
    }
    Set<String> viewers = Set.copyOf(AppConfig.names(root, ADMIN_TLS + ".viewers"));
    Set<String> operators = Set.copyOf(AppConfig.names(root, ADMIN_TLS + ".operators"));
    if (admin.mutual() && viewers.isEmpty() && operators.isEmpty()) {
      throw new TlsConfigException(ADMIN_TLS + ".mode = mtls with empty " + ADMIN_TLS + ".viewers and operators: nobody could use it");
    }
    PeerAuth.Policy adminPolicy = (ids, path) -> {
      if (ids.stream().anyMatch(operators::contains)) {
        return Optional.empty();
      }
      boolean read = path.startsWith("/grpc.reflection.") || READS.contains(path.substring(path.lastIndexOf('/') + 1));
      if (ids.stream().anyMatch(viewers::contains)) {
        return read ? Optional.empty() : Optional.of("a viewer may read (Status, Plan), not act; operators: " + ADMIN_TLS + ".operators");
      }
      return Optional.of("neither a viewer nor an operator (" + ADMIN_TLS + ".viewers, .operators)");
    };
    ServerTls dpuApi = ServerTls.at(root, DPU_API_TLS);
    Set<String> dpuOperators = Set.copyOf(AppConfig.names(root, DPU_API_TLS + ".operators"));
    Set<String> dpus = settings.dpus().stream().map(d -> d.id()).collect(Collectors.toUnmodifiableSet());
    PeerAuth.Policy dpuPolicy = (ids, path) -> ids.stream().anyMatch(i -> dpus.contains(i) || dpuOperators.contains(i)) ? Optional.empty()
        : Optional.of("not a configured DPU (dpu-coordinator.npu.dpus) nor in " + DPU_API_TLS + ".operators");
    return new ApiAccess(admin, adminPolicy, dpuApi, dpuPolicy, dpuOperators);
  }

  /** One line per API for the start-up log and status. */
  public List<String> describe() {
    return List.of("admin API: " + admin.describe(), "DPU API: " + dpuApi.describe());
  }
}
