#!/usr/bin/env bash
# Builds the kwok controller image that `--hollow-nodes` deploys (pkg/hollow), without Docker or a registry:
# kwok's own Go module (sigs.k8s.io/kwok/cmd/kwok, the version hack/setup.sh builds for the local cluster) compiled
# statically (CGO_ENABLED=0) on an empty root filesystem, running as 65532:65532 (never root, never hostNetwork:
# pkg/hollow's Deployment says so), tagged registry.k8s.io/kwok/kwok:<version> like the upstream image.
#
#   hack/kwok-image.sh            prints the path of the tarball (docker-save format), building it only when missing
#
# Env: KWOK_VERSION (v0.8.0; keep it equal to hack/setup.sh and pkg/hollow.KwokVersion), ARCH (amd64),
#      PYROMETER_CACHE (~/.cache/kubectl-pyrometer), OUT ($PYROMETER_CACHE/images/kwok-$KWOK_VERSION-$ARCH.tar).
# Load it into the local cluster's node: hack/local-cluster.sh load "$(hack/kwok-image.sh)"
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
ARCH=${ARCH:-amd64}
IMAGE=registry.k8s.io/kwok/kwok:$KWOK_VERSION
OUT=${OUT:-$CACHE/images/kwok-$KWOK_VERSION-$ARCH.tar}
log() { echo "[kwok-image $(date +%T)] $*" >&2; }

if [ -s "$OUT" ] && tar -xOf "$OUT" manifest.json 2>/dev/null | grep -q "\"$IMAGE\""; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { log "go is not installed: install Go >= 1.26 first"; exit 1; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/rootfs/etc" "$W/rootfs/tmp" "$(dirname "$OUT")"
# hack/setup.sh already builds this very binary (same module version, CGO_ENABLED=0) for the host: reuse it when it
# is that version, static and of the image's architecture; otherwise build it here.
host_bin=$CACHE/bin/kwok
if [ -x "$host_bin" ] && [ "$ARCH" = "$(go env GOARCH)" ] &&
  go version -m "$host_bin" 2>/dev/null | grep -q "^[[:space:]]*mod[[:space:]]*sigs.k8s.io/kwok[[:space:]]*$KWOK_VERSION[[:space:]]" &&
  go version -m "$host_bin" | grep -q 'build[[:space:]]*CGO_ENABLED=0'; then
  cp "$host_bin" "$W/rootfs/kwok"
else
  log "building kwok $KWOK_VERSION for linux/$ARCH (~5 min with a cold Go cache)"
  mkdir -p "$W/mod"
  (cd "$W/mod" && go mod init kwokimage >/dev/null 2>&1 &&
    GOFLAGS=-mod=mod go get "sigs.k8s.io/kwok@$KWOK_VERSION" >/dev/null 2>&1 &&
    CGO_ENABLED=0 GOOS=linux GOARCH=$ARCH GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$W/rootfs/kwok" sigs.k8s.io/kwok/cmd/kwok)
fi
printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n' >"$W/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$W/rootfs/etc/group"
chmod 1777 "$W/rootfs/tmp"
ARCH=$ARCH IMAGE_USER=65532:65532 "$ROOT/hack/mkimage.sh" "$IMAGE" "$W/rootfs" "$OUT.tmp" '["/kwok"]' >&2
mv "$OUT.tmp" "$OUT"
echo "$OUT"
