#!/usr/bin/env bash
# The probe's own CPU cost: user+system CPU time of `kubectl-pyrometer probe` (every kind the identity may use, the
# default --interval unless INTERVAL is set) for a SHORT and a LONG duration, measured with /usr/bin/time (or the
# bash `times` of a child when it is missing). The difference between the two runs is the steady-state cost of
# probing, without process start-up, setup and cleanup:
#   cpu share of one core = (cpu_long - cpu_short) / (long - short)
#   cpu per request        = (cpu_long - cpu_short) / (requests_long - requests_short)
#
# Usage: hack/probe-cpu.sh [KUBECONFIG]   (default: $KUBECONFIG, else the local test cluster's)
# Env: SHORT (10s), LONG (70s), INTERVAL (empty: the plugin's default), PLUGIN (bin/kubectl-pyrometer).
# Load: bounded by the probe itself (one request per kind per interval); creates only the probe's own namespace,
# which the probe removes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KCFG=${1:-${KUBECONFIG:-$HOME/.cache/kubectl-pyrometer/cluster/kubeconfig}}
SHORT=${SHORT:-10s}
LONG=${LONG:-70s}
PLUGIN=${PLUGIN:-$ROOT/bin/kubectl-pyrometer}
INTERVAL=${INTERVAL:-}
[ -x "$PLUGIN" ] || { echo "probe-cpu: error: $PLUGIN missing: run 'make build' first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "probe-cpu: error: /usr/bin/time not found" >&2; exit 1; }
export KUBECONFIG=$KCFG
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # duration -> "cpu_seconds requests wall_seconds maxrss_kb"
  local args=(probe --duration "$1" -o json)
  [ -n "$INTERVAL" ] && args+=(--interval "$INTERVAL")
  timeout 5m /usr/bin/time -f '%U %S %e %M' -o "$tmp/time" "$PLUGIN" "${args[@]}" >"$tmp/out.json" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; exit 1; }
  python3 - "$tmp/time" "$tmp/out.json" <<'PY'
import json, sys
u, s, e, m = open(sys.argv[1]).read().split()[-4:]
doc = json.load(open(sys.argv[2]))
n = sum(r["count"] for r in doc.get("local", []) if r["kind"] != "all")
print(float(u) + float(s), n, float(e), int(m), doc.get("interval"), ",".join(doc.get("kinds", [])))
PY
}
read -r cs ns es ms interval kinds < <(measure "$SHORT")
read -r cl nl el ml _ _ < <(measure "$LONG")
python3 - "$cs" "$ns" "$es" "$cl" "$nl" "$el" "$ml" "$interval" "$kinds" "$SHORT" "$LONG" <<'PY'
import sys
cs, ns, es, cl, nl, el = map(float, sys.argv[1:7])
ml, interval, kinds, short, long_ = int(sys.argv[7]), sys.argv[8], sys.argv[9], sys.argv[10], sys.argv[11]
print(f"interval {interval}, kinds {kinds}")
print(f"{short}: cpu {cs:.2f} s, {int(ns)} requests, wall {es:.1f} s")
print(f"{long_}: cpu {cl:.2f} s, {int(nl)} requests, wall {el:.1f} s, max RSS {ml/1024:.0f} MiB")
dcpu, dn, dt = cl - cs, nl - ns, el - es
print(f"steady state: {100*dcpu/dt:.1f}% of one core, {dn/dt:.1f} requests/s, {1e6*dcpu/dn:.0f} us CPU per request")
PY
