#!/usr/bin/env bash
# Build a single-layer image as a "docker save" style tarball from a rootfs dir, with no registry/daemon.
# Usage: [ARCH=amd64] [IMAGE_USER=uid:gid] mkimage.sh <repo:tag> <rootfs-dir> <out.tar> <entrypoint-json-array>
#   e.g. mkimage.sh localhost/busybox:local ./rootfs busybox.tar '["/bin/sh"]'
set -euo pipefail
REF=$1 ROOTFS=$2 OUT=$3 CMD=${4:-null} ARCH=${ARCH:-amd64} IMAGE_USER=${IMAGE_USER:-}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$ROOTFS" -cf "$W/layer.tar" .
DIFF=$(sha256sum "$W/layer.tar" | cut -d' ' -f1)
mkdir "$W/$DIFF"; mv "$W/layer.tar" "$W/$DIFF/layer.tar"
cat > "$W/config.json" <<JSON
{"architecture":"$ARCH","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":$CMD,"User":"$IMAGE_USER","WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$DIFF"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"mkimage.sh"}]}
JSON
CFG=$(sha256sum "$W/config.json" | cut -d' ' -f1)
mv "$W/config.json" "$W/$CFG.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$CFG" "$REF" "$DIFF" > "$W/manifest.json"
tar --numeric-owner --owner=0 --group=0 -C "$W" -cf "$OUT" manifest.json "$CFG.json" "$DIFF"
echo "wrote $OUT ($REF, config sha256:$CFG)"
