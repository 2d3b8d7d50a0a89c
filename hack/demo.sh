#!/usr/bin/env bash
# The plugin's main job against a throwaway local cluster: brings the cluster up (if needed), runs the plugin, and
# leaves the cluster running for you to explore (stop it with `hack/local-cluster.sh down`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
hack/setup.sh
hack/local-cluster.sh status >/dev/null 2>&1 || hack/local-cluster.sh up
KC=$CACHE/cluster/kubeconfig
set -x
bin/kubectl-pyrometer --kubeconfig "$KC" version
