package io.github.dpucoordinator.e2e;

import io.github.dpucoordinator.npu.transport.DpuEndpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** `dpuctl npu` as a JVM of its own (so it can be killed with SIGKILL), with quick test deadlines. */
final class NpuProcess {
  private NpuProcess() {}

  /** {@code jvmArgs} e.g. -Dconfig.file=...; {@code env} overrides the test defaults below; output is appended to {@code output}. */
  static Process start(Path dataDir, int adminPort, List<DpuEndpoint> dpus, String rebootCommand, Path output, List<String> jvmArgs,
      Map<String, String> env) throws Exception {
    List<String> cmd = new ArrayList<>(io.github.dpucoordinator.cli.DpuctlJvm.command(jvmArgs));
    cmd.addAll(List.of("npu",
        "--data-dir", dataDir.toString(),
        "--admin-port", String.valueOf(adminPort),
        "--reboot-cmd", rebootCommand));
    dpus.forEach(d -> cmd.addAll(List.of("--dpu", d.id() + "=127.0.0.1:" + d.port()
        + (d.protocol().equals(DpuEndpoint.GNOI) ? "" : "/" + d.protocol()))));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
    pb.environment().put("DPUCOORD_ACK_DEADLINE", "30s");
    pb.environment().put("DPUCOORD_HALT_TIMEOUT", "10s");
    pb.environment().put("DPUCOORD_SIGNAL_ATTEMPTS", "3");
    pb.environment().put("DPUCOORD_SIGNAL_TIMEOUT", "2s");
    pb.environment().put("DPUCTL_TEST_LOG_LEVEL", "INFO");
    pb.environment().put("DPUCOORD_REBOOT_RETURN_AFTER", "200ms");
    pb.environment().put("DPUCOORD_BOOT_WAIT", "20s");
    pb.environment().put("DPUCOORD_DPU_API_PORT", "0");
    pb.environment().put("DPUCOORD_WATCH", "false");
    pb.environment().putAll(env);
    return pb.start();
  }

  /** The reboot command the tests give the service: appends the campaign it runs for to {@code log}. */
  static String recordingRebootCommand(Path log) {
    return "echo \"reboot $DPUCOORD_CAMPAIGN_ID\" >> '" + log + "'";
  }
}
