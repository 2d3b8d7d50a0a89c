#!/usr/bin/env bash
# The plugin's main job against a throwaway local cluster: brings the cluster up (if needed), probes it, then runs a
# short staged-contention run (cpu, mem and api stress on the real node). The cluster stays up for you to explore;
# stop it with `hack/local-cluster.sh down`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
hack/setup.sh
hack/local-cluster.sh status >/dev/null 2>&1 || hack/local-cluster.sh up
KC=$CACHE/cluster/kubeconfig
set -x
bin/kubectl-pyrometer --kubeconfig "$KC" version
bin/kubectl-pyrometer --kubeconfig "$KC" probe --duration 10s
bin/kubectl-pyrometer --kubeconfig "$KC" run --modes cpu,mem,api --steps 2 --api-iterations 20 \
  --image-map hack/local-images.txt --node-selector kubepyrometer.io/real-node=true
