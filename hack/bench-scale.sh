#!/usr/bin/env bash
# Benchmark: how the control plane's probe latency changes with the number of hollow nodes (kwok; their lease
# renewals every 10 s and status updates are the load), on one cluster, in one invocation, and what the plugin itself
# uses. For each N of $NODES, one bounded `kubectl-pyrometer run --hollow-nodes N`: its baseline is probed with the
# N nodes present (the run deploys them before the baseline); then a table: N, baseline samples, p50, p99 (every
# probe kind pooled), the pod-startup p99 when $PODS_PER_NODE > 0 (density on the hollow nodes), and what the
# plugin uses: its own process's peak RSS (VmHWM) and CPU seconds (sampled from /proc every second), the peak RSS of
# its kube-burner child, and /usr/bin/time's figures for the whole process tree (max RSS of the largest process,
# CPU of all).
#
# Usage: hack/bench-scale.sh [KUBECONFIG]
#   kubeconfig: first argument, else $KUBECONFIG, else the local test cluster's (~/.cache/kubectl-pyrometer/cluster).
# Env: NODES ("0 100 500 1000"), BASELINE (20s), PODS_PER_NODE (0: no density step; e.g. 10 for N x 10 pods),
#      DENSITY_QPS (50), STEP_TIMEOUT (3m: kube-burner's create-and-wait bound of the density step),
#      PLUGIN (bin/kubectl-pyrometer), OUT (a temp dir: each run's artifacts in OUT/nodes-N).
# Load is bounded: N <= 1000 (one kwok controller), one step, every run under a 15 minute timeout; each run deletes
# what it created (hollow nodes included) before the next starts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
KCFG=${1:-${KUBECONFIG:-$CACHE/cluster/kubeconfig}}
NODES=${NODES:-0 100 500 1000}
BASELINE=${BASELINE:-20s}
PODS_PER_NODE=${PODS_PER_NODE:-0}
DENSITY_QPS=${DENSITY_QPS:-50}
STEP_TIMEOUT=${STEP_TIMEOUT:-3m}
PLUGIN=${PLUGIN:-$ROOT/bin/kubectl-pyrometer}
OUT=${OUT:-$(mktemp -d /tmp/pyrometer-bench-scale.XXXXXX)}

die() { echo "bench-scale: error: $*" >&2; exit 1; }
[ -x "$PLUGIN" ] || die "plugin binary $PLUGIN is missing or not executable: run 'make build' first"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) not found"
command -v jq >/dev/null 2>&1 || die "jq not found in PATH"
[ -r "$KCFG" ] || die "kubeconfig $KCFG not found: start the local cluster (make cluster-up) or pass a kubeconfig"
for n in $NODES; do
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -le 1000 ] || die "invalid NODES entry $n: must be 0..1000"
done
mkdir -p "$OUT"

# sample_proc PID: the plugin is the child of /usr/bin/time, whose child is PID's (timeout's) grandchild. Every
# second: the plugin process's VmHWM and utime+stime, and the largest VmHWM of its children (kube-burner); prints
# "own_kb own_cpu_s child_kb" when PID exits.
sample_proc() {
  local top=$1 plugin="" own=0 cpu=0 child=0 tck
  tck=$(getconf CLK_TCK)
  while kill -0 "$top" 2>/dev/null; do
    if [ -z "$plugin" ]; then
      local t; t=$(pgrep -P "$top" | head -1); [ -n "$t" ] && plugin=$(pgrep -P "$t" | head -1)
    fi
    if [ -n "$plugin" ] && [ -r "/proc/$plugin/status" ]; then
      local v; v=$(awk '/^VmHWM:/{print $2}' "/proc/$plugin/status" 2>/dev/null); [ -n "$v" ] && own=$v
      v=$(awk -v t="$tck" '{printf "%.1f", ($14+$15)/t}' "/proc/$plugin/stat" 2>/dev/null); [ -n "$v" ] && cpu=$v
      for c in $(pgrep -P "$plugin"); do
        v=$(awk '/^VmHWM:/{print $2}' "/proc/$c/status" 2>/dev/null)
        [ -n "$v" ] && [ "$v" -gt "$child" ] && child=$v
      done
    fi
    sleep 1
  done
  echo "$own $cpu $child"
}

rows=()
for n in $NODES; do
  args=(--kubeconfig "$KCFG" run --steps 1 --baseline "$BASELINE" --step-duration 10s --recovery 5s --output-dir "$OUT/nodes-$n" -o json)
  if [ "$n" -gt 0 ]; then args+=(--hollow-nodes "$n"); fi
  if [ "$PODS_PER_NODE" -gt 0 ] && [ "$n" -gt 0 ]; then
    pods=$((n * PODS_PER_NODE))
    args+=(--modes density --density-pods "$pods" --density-qps "$DENSITY_QPS" --max-pods "$pods" --max-objects-per-step "$pods"
      --step-timeout "$STEP_TIMEOUT")
  else
    args+=(--modes api --api-iterations 1 --api-replicas 1) # the smallest load: the baseline is what is compared
  fi
  echo "bench-scale: $n hollow node(s): ${PLUGIN##*/} ${args[*]:2}" >&2
  rc=0
  timeout 15m /usr/bin/time -f '%M %U %S' -o "$OUT/nodes-$n.time" "$PLUGIN" "${args[@]}" >"$OUT/nodes-$n.json" 2>"$OUT/nodes-$n.log" &
  tpid=$!
  sample_proc "$tpid" >"$OUT/nodes-$n.proc" &
  spid=$!
  wait "$tpid" || rc=$?
  wait "$spid" || true
  read -r own_kb own_cpu child_kb <"$OUT/nodes-$n.proc" || true
  echo "bench-scale: $n hollow node(s): plugin process peak RSS $((${own_kb:-0} / 1024)) MiB, CPU ${own_cpu:-?} s; kube-burner child peak RSS $((${child_kb:-0} / 1024)) MiB" >&2
  if [ $rc != 0 ] && [ $rc != 2 ]; then # 2: an SLO failed, the figures stand
    die "the run with $n hollow node(s) failed (exit $rc): see $OUT/nodes-$n.log (figures above)"
  fi
  read -r rss_kb user sys < <(grep -v '^Command' "$OUT/nodes-$n.time")
  row=$(jq -r --arg n "$n" --arg rss "$((rss_kb / 1024))" --arg cpu "$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.1f", u+s}')" \
    --arg own "$((${own_kb:-0} / 1024))" --arg owncpu "${own_cpu:-?}" --arg kb "$((${child_kb:-0} / 1024))" '
    (.stats[] | select(.phase == "baseline" and .kind == "all")) as $b
    | ([.stats[] | select(.kind == "pod-startup" and (.phase | startswith("ramp-step")))] | first | .p99_ms // null) as $ps
    | [$n, ($b.count | tostring), ($b.p50_ms | tostring), ($b.p99_ms | tostring),
       (if $ps == null then "-" else ($ps | tostring) end), $own, $owncpu, $kb, $rss, $cpu] | @tsv' "$OUT/nodes-$n.json")
  rows+=("$row")
done

printf '\nCONTROL-PLANE LATENCY vs HOLLOW NODES (baseline phase, every probe kind pooled; ms)\n'
{
  printf 'NODES\tSAMPLES\tP50\tP99\tPOD-STARTUP P99\tPLUGIN RSS MiB\tPLUGIN CPU s\tKUBE-BURNER RSS MiB\tTREE MAX RSS MiB\tTREE CPU s\n'
  printf '%s\n' "${rows[@]}"
} | column -t -s $'\t'
echo "artifacts: $OUT" >&2
