#!/usr/bin/env bash
# Builds the release archives into dist/ (make dist).
#
#   hack/dist.sh                     every release platform (PLATFORMS below)
#   hack/dist.sh linux/amd64 [...]   only these; make test-krew does this when dist/ is missing or stale
#   hack/dist.sh --stamp             print the stamp of the current sources and exit (see dist/.dist-info)
#
# Output, and nothing else (dist/ is wiped first):
#   dist/kubectl-pyrometer_<VERSION>_<os>_<arch>.tar.gz   at the archive root: kubectl-pyrometer (.exe on Windows),
#                                                          LICENSE, and (not on Windows) kubectl_complete-pyrometer
#   dist/kubectl-pyrometer_<VERSION>_checksums.txt        sha256sum format, lowercase, sorted by file name
#   dist/.dist-info                                        version, commit, date, platforms and the source stamp
# The archive names must match the addURIAndSha URLs in .krew.yaml (hack/krew-manifest.sh checks that).
#
# Reproducible: the same sources, VERSION, commit and Go version give the same bytes. CGO off, -trimpath,
# -buildvcs=false, stripped (-s -w), version/commit/date stamped with -X. The stamped date and every archive mtime
# come from SOURCE_DATE_EPOCH, else the commit time; entries are sorted, owned by 0:0, and gzip -n stores no name
# or time.
#
# Environment: VERSION (default: git describe, as in the Makefile), COMMIT (default: git rev-parse HEAD),
# SOURCE_DATE_EPOCH (default: commit time), DIST_DIR (default: dist).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

MODULE=github.com/kubepyrometer/kubectl-pyrometer
NAME=kubectl-pyrometer
PLATFORMS=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
DIST=${DIST_DIR:-dist}
log() { echo "[dist $(date +%T)] $*" >&2; }
case ${DIST%/} in
  "" | . | .. | / | "$ROOT") log "DIST_DIR=$DIST would wipe more than the build output"; exit 1 ;;
esac

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null | grep '^v' || echo v0.0.0-dev)}
COMMIT=${COMMIT:-$(git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  # No commit yet: a fixed date (1980-01-01, the oldest a zip can hold) keeps the build reproducible.
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 315532800)
fi
DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
case $VERSION in
  v[0-9]*) ;;
  *) log "VERSION=$VERSION: must look like v1.2.3 (krew requires a semantic version)"; exit 1 ;;
esac

# stamp: what the binaries are made of. make test-krew rebuilds dist/ only when it changes.
stamp() {
  {
    echo "$VERSION $COMMIT $SOURCE_DATE_EPOCH $(go env GOVERSION)"
    # top-level files (go.mod, go.sum, embedded plugins.yaml, LICENSE, ...) and the trees the binary is built from
    { find . -maxdepth 1 -type f ! -name '.*' ! -name '*.md' -print0
      for d in cmd pkg internal templates; do
        [ ! -d "$d" ] || find "$d" -name testdata -prune -o -type f ! -name '*_test.go' -print0
      done; } | LC_ALL=C sort -z | xargs -0 sha256sum
    sha256sum hack/dist.sh
  } | sha256sum | cut -c1-64
}
if [ "${1:-}" = --stamp ]; then
  stamp
  exit 0
fi
if [ $# -gt 0 ]; then
  for p in "$@"; do
    [[ " ${PLATFORMS[*]} " == *" $p "* ]] || { log "unknown platform $p; valid: ${PLATFORMS[*]}"; exit 1; }
  done
  PLATFORMS=("$@")
fi

STAMP=$(stamp)
rm -rf "$DIST"
STAGE=$DIST/.stage
mkdir -p "$STAGE"
LDFLAGS="-s -w -X $MODULE/pkg/version.version=$VERSION -X $MODULE/pkg/version.commit=$COMMIT -X $MODULE/pkg/version.date=$DATE"
log "building $VERSION (commit $COMMIT, date $DATE) for ${PLATFORMS[*]}"
if [ "$COMMIT" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then
  log "warning: uncommitted changes: these archives are not what commit $COMMIT builds (release from a clean checkout)"
fi
start=$SECONDS
for p in "${PLATFORMS[@]}"; do
  os=${p%/*} arch=${p#*/}
  dir=$STAGE/${os}_$arch
  exe=$NAME
  [ "$os" = windows ] && exe=$NAME.exe
  t0=$SECONDS
  mkdir -p "$dir"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$LDFLAGS" -o "$dir/$exe" ./cmd/kubectl-pyrometer
  cp LICENSE "$dir/LICENSE"
  files=(LICENSE "$exe")
  if [ "$os" != windows ]; then
    # kubectl (1.26+) completes "kubectl pyrometer ..." by running kubectl_complete-pyrometer from PATH.
    cat >"$dir/kubectl_complete-pyrometer" <<'EOF'
#!/bin/sh
# kubectl_complete-pyrometer: kubectl (1.26 or newer) runs this to complete "kubectl pyrometer ...".
# Copy it into a directory on PATH; it asks kubectl-pyrometer for the completions.
if command -v kubectl-pyrometer >/dev/null 2>&1; then
  exec kubectl-pyrometer __complete "$@"
fi
exec "$(dirname "$0")/kubectl-pyrometer" __complete "$@"
EOF
    files+=(kubectl_complete-pyrometer)
    chmod 0755 "$dir/kubectl_complete-pyrometer"
  fi
  chmod 0755 "$dir/$exe"
  chmod 0644 "$dir/LICENSE"
  archive=$DIST/${NAME}_${VERSION}_${os}_${arch}.tar.gz
  mapfile -t files < <(printf '%s\n' "${files[@]}" | LC_ALL=C sort)
  tar --format=ustar --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -C "$dir" -cf - "${files[@]}" | gzip -n -9 >"$archive"
  log "$(basename "$archive"): $(du -h --apparent-size "$archive" | cut -f1) (binary $(du -h --apparent-size "$dir/$exe" | cut -f1)), $((SECONDS - t0))s"
  rm -rf "$dir"
done
rmdir "$STAGE"

sums=$DIST/${NAME}_${VERSION}_checksums.txt
(cd "$DIST" && LC_ALL=C && sha256sum -- *.tar.gz) >"$sums.tmp"
mv "$sums.tmp" "$sums"
cat >"$DIST/.dist-info" <<EOF
version=$VERSION
commit=$COMMIT
date=$DATE
platforms=${PLATFORMS[*]}
stamp=$STAMP
EOF
log "done in $((SECONDS - start))s: $DIST/$(basename "$sums")"
cat "$sums" >&2
