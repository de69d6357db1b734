#!/usr/bin/env bash
# Makes the class-data-sharing archives dpuctl's launcher starts its JVMs with (run by `mvn package`, after the shaded
# jar): a short training run of `dpuctl cds-training cli|agent|service` lists the classes it loads, and the JVM dumps them
# into target/dpuctl-cli.jsa (a call to a running service), target/dpuctl-agent.jsa (a DPU agent) and
# target/dpuctl-service.jsa (everything else). An archive that cannot be made costs start-up time only: the build says so
# and goes on.
set -uo pipefail
java="$1"; jar="$2"; out="$3"
for what in cli agent service; do
  list="$out/dpuctl-$what.classlist"
  rm -f "$out/dpuctl-$what.jsa"
  if ! DPUCOORD_METRICS_ENABLED=false DPU_AGENT_METRICS_ENABLED=false "$java" -XX:DumpLoadedClassList="$list" -XX:+UseSerialGC \
      -XX:TieredStopAtLevel=1 -cp "$jar" io.github.dpucoordinator.cli.Main cds-training "$what" > "$out/dpuctl-$what.training.log" 2>&1; then
    echo "cds: the $what training run failed (see $out/dpuctl-$what.training.log); no archive for it" >&2
    continue
  fi
  # Lambda proxies left out: OpenJDK 17.0.15 crashes dumping some of them (SystemDictionaryShared::adjust_lambda_proxy_class_dictionary).
  grep -v '^@lambda-proxy' "$list" > "$list.classes"
  if ! "$java" -Xshare:dump -XX:SharedClassListFile="$list.classes" -XX:SharedArchiveFile="$out/dpuctl-$what.jsa" -XX:+UseSerialGC \
      -cp "$jar" > "$out/dpuctl-$what.dump.log" 2>&1; then
    rm -f "$out/dpuctl-$what.jsa" hs_err_pid*.log
    echo "cds: this JVM could not dump the $what archive (see $out/dpuctl-$what.dump.log); dpuctl starts without it" >&2
    continue
  fi
  echo "cds: $out/dpuctl-$what.jsa ($(wc -l < "$list.classes") classes)"
done
exit 0
