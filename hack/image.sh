#!/usr/bin/env bash
# Builds the plugin's container image (the in-cluster probe runs it) as a docker-save tarball, without Docker or a
# registry: a static binary on an empty root filesystem, running as 65532:65532.
#   IMAGE (default ghcr.io/kubepyrometer/kubectl-pyrometer:$VERSION)  ARCH (amd64)  OUT (dist/image/kubectl-pyrometer-$ARCH.tar)
#   LDFLAGS: as the Makefile stamps them.
# Load it into a cluster's nodes, e.g. `hack/local-cluster.sh load dist/image/kubectl-pyrometer-amd64.tar`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ARCH=${ARCH:-amd64}
IMAGE=${IMAGE:?IMAGE is required (make image sets it)}
OUT=${OUT:-dist/image/kubectl-pyrometer-$ARCH.tar}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/rootfs/etc" "$W/rootfs/tmp" "$(dirname "$OUT")"
CGO_ENABLED=0 GOOS=linux GOARCH=$ARCH go build -trimpath -ldflags "${LDFLAGS:-}" -o "$W/rootfs/kubectl-pyrometer" ./cmd/kubectl-pyrometer
printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n' >"$W/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$W/rootfs/etc/group"
chmod 1777 "$W/rootfs/tmp"
ARCH=$ARCH IMAGE_USER=65532:65532 hack/mkimage.sh "$IMAGE" "$W/rootfs" "$OUT" '["/kubectl-pyrometer"]' >&2
echo "$OUT"
