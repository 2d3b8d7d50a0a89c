#!/usr/bin/env bash
# Benchmark: the memory a 24-hour probe (10 samples/s for each of 6 kinds = 5,184,000 samples) holds for its
# statistics and progress line, the new way (probe.Aggregate: 4-byte latencies per phase and kind, running p99)
# against the old way (every probe.Sample in a slice, every statistic by sorting all of them), both measured in
# the same run (go test -bench BenchmarkStats5M in pkg/report): live heap after a full GC, per sample and as a
# ratio new/old. "new+log" adds the 16-byte SampleLog a probe without --output-dir keeps at a terminal for its
# sparklines. No cluster needed; the old way needs ~1 GB of memory for a minute.
#
# Usage: hack/bench-memory.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
out=$(go test -run '^$' -bench '^BenchmarkStats5M$' -benchtime 1x -count 1 ./pkg/report/)
line=$(grep '^BenchmarkStats5M' <<<"$out") || { echo "$out" >&2; echo "bench-memory: error: no benchmark result" >&2; exit 1; }
# "value unit" pairs after the iteration count and ns/op.
declare -A m
read -ra f <<<"$line"
for ((i = 4; i + 1 < ${#f[@]}; i += 2)); do m[${f[i+1]}]=${f[i]}; done
printf 'MEMORY FOR 5,184,000 SAMPLES (24 h at 10/s for 6 kinds; live heap after GC)\n'
printf '%-44s %10s %12s %10s\n' WAY MB BYTES/SAMPLE VS-OLD
printf '%-44s %10.1f %12.1f %10s\n' "old: []probe.Sample (reference)" "${m[old-MB]}" "${m[old-B/sample]}" "1"
printf '%-44s %10.1f %12.1f %10.4f\n' "new: probe.Aggregate + running p99" "${m[new-MB]}" "${m[new-B/sample]}" "${m[new/old]}"
printf '%-44s %10.1f %12.1f %10.4f\n' "new + SampleLog (probe without --output-dir)" "${m[new+log-MB]}" "${m[new+log-B/sample]}" "${m[new+log/old]}"
printf 'one progress line allocates: old %.1f MB (sorting every sample, every 2 s), new %.1f MB\n' "${m[old-progress-MB]}" "${m[new-progress-MB]}"
printf 'new: %.0f ns per sample added (building the sample included)\n' "${m[new-ns/sample]}"
