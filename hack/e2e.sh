#!/usr/bin/env bash
# End-to-end tests: runs the built bin/kubectl-pyrometer against a real cluster.
#   PYROMETER_E2E_KUBECONFIG=path  use that cluster (its current context must be cluster-admin, and disposable)
#   otherwise                      use the local cluster (hack/local-cluster.sh): started here and stopped at exit,
#                                  or left running if it was already up.
# Extra `go test` flags: E2E_FLAGS (e.g. E2E_FLAGS='-run TestProbe').
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
[ -x bin/kubectl-pyrometer ] || { echo "bin/kubectl-pyrometer missing: run make build" >&2; exit 1; }
if [ -z "${PYROMETER_E2E_KUBECONFIG:-}" ]; then
  hack/setup.sh
  if hack/local-cluster.sh status >/dev/null 2>&1; then
    echo "[e2e] using the running local cluster" >&2
  else
    trap 'hack/local-cluster.sh down' EXIT
    hack/local-cluster.sh up
  fi
  # the plugin's own image, for the in-cluster probe (make image builds it)
  for t in dist/image/kubectl-pyrometer-*.tar; do [ -e "$t" ] && hack/local-cluster.sh load "$t"; done
  # kwok's controller image, for hollow nodes (hack/setup.sh builds it)
  hack/local-cluster.sh load "$(hack/kwok-image.sh)"
  export PYROMETER_E2E_KUBECONFIG=$CACHE/cluster/kubeconfig
fi
export PYROMETER_E2E_BINARY=$ROOT/bin/kubectl-pyrometer
# shellcheck disable=SC2086
go test -tags e2e -count=1 -timeout 45m -v ${E2E_FLAGS:-} ./test/e2e/...
