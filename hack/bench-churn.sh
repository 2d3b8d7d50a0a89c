#!/usr/bin/env bash
# Benchmark: the highest write rate one process of the churn engine (pkg/churn) sustains against one apiserver at a
# delivery ratio >= 0.95, next to the references measured in the same run (hack/benchchurn/main.go does the
# measuring; read its doc comment for the exact method):
#   - the churn engine (open loop, Poisson arrivals, each ConfigMap updated once over a 2 s life, then deleted) at
#     rates doubling from 25 objects/s, each step at most 2000 objects and 10 s, stopping at the first step below
#     0.95 delivered/requested, then one bisection step between the last delivered rate and that one (-refine);
#   - the apiserver's own count of handled configmap writes (apiserver_request_total, POST/PATCH/DELETE, delta of
#     /metrics over each run) against the engine's count of successful writes: the physical limit, and a check;
#   - kube-burner's flood (pkg/stress in a child process, as mode `api` ran it: creates at a QPS cap) and the engine
#     in the same flood shape, the same object count and QPS: the highest sustained step's request rate.
# Everything is created in one namespace of its own (managed-by + run-id labels) and deleted at the end, also on
# Ctrl-C. Load is bounded: at most 2000 objects per step, 10 s of arrivals per step, rates up to 3200/s.
#
# Usage: hack/bench-churn.sh [KUBECONFIG]
#   kubeconfig: first argument, else $KUBECONFIG, else the local test cluster's (~/.cache/kubectl-pyrometer/cluster);
#   with none given and the local cluster not running, it is started (hack/local-cluster.sh up) and stopped at exit.
# Env: BENCH_FLAGS (extra flags of hack/benchchurn, e.g. "-start-rate 50 -lifetime 5s"; see go run ./hack/benchchurn -h).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
KCFG=${1:-${KUBECONFIG:-}}

die() { echo "bench-churn: error: $*" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-churn.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
go build -o "$TMP/benchchurn" ./hack/benchchurn || die "failed to build hack/benchchurn"

if [ -z "$KCFG" ]; then
  KCFG=$CACHE/cluster/kubeconfig
  # Start the local cluster only when none of its processes runs, so that `down` at exit stops only what this
  # script started; a cluster that runs but is not ready is left alone.
  if ! st=$(hack/local-cluster.sh status 2>&1); then
    [ "$st" = "not running" ] || die "the local cluster runs but is not ready (hack/local-cluster.sh status: $(tail -n 1 <<<"$st")): not touching it"
    echo "bench-churn: the local cluster is not running: starting it (stopped again at exit)" >&2
    hack/setup.sh
    trap 'cleanup; hack/local-cluster.sh down' EXIT
    hack/local-cluster.sh up
  fi
fi
[ -r "$KCFG" ] || die "kubeconfig $KCFG not found: start the local cluster (make cluster-up) or pass a kubeconfig"

# The program handles Ctrl-C itself: it stops the load, deletes what it created and exits 130.
# shellcheck disable=SC2086
"$TMP/benchchurn" -kubeconfig "$KCFG" ${BENCH_FLAGS:-}
