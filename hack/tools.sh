#!/usr/bin/env bash
# Installs the lint tools that hack/verify.sh (make verify, and so CI) runs, at pinned versions, from the Go module
# proxy, into $PYROMETER_CACHE/bin (default ~/.cache/kubectl-pyrometer/bin). Idempotent: a tool is rebuilt only when
# missing or of another version (read from the binary's build info). Prints the bin directory on stdout.
#
#   staticcheck  honnef.co/go/tools/cmd/staticcheck  (its checks include unused: dead code)
#   unparam      mvdan.cc/unparam                    (parameters that always get the same value, results always nil)
#
# Both need Go >= 1.26.0. Cold: ~1 min on 2 cores; warm: instant.
set -euo pipefail
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
BIN=$CACHE/bin
STATICCHECK_VERSION=${STATICCHECK_VERSION:-v0.8.2}
UNPARAM_VERSION=${UNPARAM_VERSION:-v0.0.0-20260823230713-2fa3d841b0c8}
log() { echo "[tools $(date +%T)] $*" >&2; }

command -v go >/dev/null || { log "go is not installed: install Go >= 1.26 first"; exit 1; }

# install NAME MODULE PACKAGE VERSION: go install PACKAGE@VERSION into $BIN unless $BIN/NAME was built from
# MODULE@VERSION already.
install() {
  local name=$1 mod=$2 pkg=$3 ver=$4 have=""
  if [ -x "$BIN/$name" ]; then
    have=$(go version -m "$BIN/$name" 2>/dev/null | awk -v m="$mod" '$1=="mod" && $2==m {print $3}')
  fi
  [ "$have" = "$ver" ] && return 0
  log "installing $name $ver (${have:-not installed})"
  mkdir -p "$BIN"
  GOBIN=$BIN CGO_ENABLED=0 GOFLAGS=-mod=mod go install -trimpath "$pkg@$ver"
}
install staticcheck honnef.co/go/tools honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION"
install unparam mvdan.cc/unparam mvdan.cc/unparam "$UNPARAM_VERSION"
echo "$BIN"
