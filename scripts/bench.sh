#!/usr/bin/env bash
# ./orchestrator bench — the benchmark, on this machine, in one run (as root):
#   1. JMH: core's event intake with in-memory plug-ins (module bench/)      -> jmh.json, jmh.txt
#   2. the floor, the re-enacted prototype path and the orchestrator distribution with real
#      DHCPv6 devices, one at a time, in a burst and one at a time with the warm pool, then the
#      RSS with 1,000 instance records (itests BenchSmokeIT with -Dbench.full=true)
#   -> bench/results/<timestamp>/report.md, latency-cdf.png, burst-timeline.png, samples.csv
# Sizes: -Dbench.sequential=50 -Dbench.burst=100 -Dbench.poolSequential=30 ... through BENCH_OPTS; extra Maven flags (e.g. -o)
# through BENCH_MVN_OPTS; JMH options through BENCH_JMH_OPTS; BENCH_SKIP_JMH=1 skips step 1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bench: run as root (bridges, namespaces, nftables and dockerd need it)" >&2; exit 1; }
bash "$ROOT/scripts/test-env.sh" >/dev/null
docker image inspect orchestrator/client:latest >/dev/null 2>&1 || bash "$ROOT/scripts/build-client-image.sh"

TS=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$ROOT/bench/results/$TS"
mkdir -p "$OUT"
read -r -a MVN_EXTRA <<< "${BENCH_MVN_OPTS:-}"
read -r -a BENCH_EXTRA <<< "${BENCH_OPTS:-}"
read -r -a JMH_EXTRA <<< "${BENCH_JMH_OPTS:-}"
MVN=(mvn -B -ntp "${MVN_EXTRA[@]}")
cd "$ROOT"

if [ "${BENCH_SKIP_JMH:-0}" != 1 ]; then
  echo "==> building and running the JMH benchmark of core's event intake"
  "${MVN[@]}" -q -pl bench -am package dependency:build-classpath -DskipTests \
    -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
  java -cp "bench/target/classes:$(cat bench/target/classpath.txt)" org.openjdk.jmh.Main EventIntakeBenchmark \
    -rf json -rff "$OUT/jmh.json" "${JMH_EXTRA[@]}" | tee "$OUT/jmh.txt"
fi

echo "==> building the distribution and running the benchmark (results in $OUT)"
rc=0
"${MVN[@]}" verify -pl itests -am -Dtest=NoSuchTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=BenchSmokeIT -Dbench.full=true -Dbench.out="$OUT" "${BENCH_EXTRA[@]}" > "$OUT/maven.log" 2>&1 || rc=$?
if [ -f "$OUT/report.md" ]; then
  sed -n '/^## Summary/,/^## Where/p' "$OUT/report.md" | sed '$d'
  echo "==> report: $OUT/report.md"
else
  echo "bench: no report was written; see $OUT/maven.log" >&2
fi
[ "$rc" = 0 ] || echo "bench: the run reported problems (exit $rc); see $OUT/maven.log" >&2
exit "$rc"
