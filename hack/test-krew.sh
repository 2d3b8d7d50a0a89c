#!/usr/bin/env bash
# make test-krew: checks, fully offline, that the manifest rendered from .krew.yaml is one krew accepts and installs,
# and that the installed plugin runs through kubectl's plugin mechanism.
#
# 1. krew's validator (sigs.k8s.io/krew/cmd/validate-krew-manifest) and krew itself (sigs.k8s.io/krew/cmd/krew),
#    built from the Go module proxy at the version pinned in hack/tools/krew/go.mod into
#    ${PYROMETER_CACHE:-~/.cache/kubectl-pyrometer}/bin; rebuilt only when missing or of another version.
# 2. dist/ is reused when its stamp (dist/.dist-info) matches the sources (hack/dist.sh --stamp) and it holds
#    linux/amd64. Otherwise only linux/amd64 is built, replacing dist/: run `make dist` first to check every
#    platform's archive.
# 3. hack/krew-manifest.sh renders dist/krew/pyrometer.yaml (local file:// URIs, real sha256 sums).
# 4. validate-krew-manifest -skip-install on it: krew's structural checks (name, semver, sha256, files, bin,
#    selectors, overlapping platforms). Its install step downloads each URI over HTTP; step 5 does that part offline.
# 5. Every platform in the manifest but linux/amd64: krew install --manifest --archive into a throwaway KREW_ROOT
#    with KREW_OS/KREW_ARCH set (krew's own release check), then the bin link, LICENSE and shim must be there.
# 6. linux/amd64 for real in a temporary KREW_ROOT: krew install; `kubectl pyrometer version --client` through
#    kubectl's plugin lookup (PATH=$KREW_ROOT/bin:$PATH) prints the stamped version and commit; `kubectl __complete
#    pyrometer ...` reaches the plugin through the kubectl_complete-pyrometer shim copied onto PATH; krew uninstall
#    pyrometer leaves nothing of the plugin under KREW_ROOT (receipt, store, bin link).
# Ends with one line, "PASS: ..." (exit 0) or "FAIL: ..." (exit 1).
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
BIN=$CACHE/bin
KUBECTL=${KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
DIST=dist
MANIFEST=$DIST/krew/pyrometer.yaml
log() { echo "[test-krew $(date +%T)] $*" >&2; }
fail() { echo "FAIL: test-krew: $*"; exit 1; }
trap 'fail "command failed (line $LINENO): $BASH_COMMAND"' ERR
start=$SECONDS

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. krew's tools
KREW_VERSION=$(awk '$1=="sigs.k8s.io/krew"{print $2} $1=="require" && $2=="sigs.k8s.io/krew"{print $3}' hack/tools/krew/go.mod)
[ -n "$KREW_VERSION" ] || fail "no sigs.k8s.io/krew version in hack/tools/krew/go.mod"
built_from() { go version -m "$1" 2>/dev/null | awk '$1=="mod"{print $2 "@" $3}' || true; }
if [ "$(built_from "$BIN/krew")" != "sigs.k8s.io/krew@$KREW_VERSION" ] ||
  [ "$(built_from "$BIN/validate-krew-manifest")" != "sigs.k8s.io/krew@$KREW_VERSION" ]; then
  log "building krew and validate-krew-manifest $KREW_VERSION into $BIN (~1 min cold)"
  mkdir -p "$BIN"
  (cd hack/tools/krew && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" -o "$BIN/" \
    sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest)
fi

# 2. dist/
want=$(hack/dist.sh --stamp)
info() { sed -n "s/^$1=//p" "$DIST/.dist-info" 2>/dev/null || true; }
if [ "$(info stamp)" = "$want" ] && [[ " $(info platforms) " == *" linux/amd64 "* ]]; then
  log "reusing $DIST/ ($(info version): $(info platforms))"
else
  log "$DIST/ is missing or older than the sources: building linux/amd64 only (make dist builds every platform)"
  hack/dist.sh linux/amd64
fi
VERSION=$(info version)
COMMIT=$(info commit)
ARCHIVE=$DIST/kubectl-pyrometer_${VERSION}_linux_amd64.tar.gz

# 3. manifest
VERSION=$VERSION hack/krew-manifest.sh

# 4. krew's validator
log "validate-krew-manifest -skip-install $MANIFEST"
if ! out=$("$BIN/validate-krew-manifest" -manifest "$MANIFEST" -skip-install 2>&1); then
  echo "$out" >&2
  fail "validate-krew-manifest rejected $MANIFEST"
fi
echo "$out" | sed 's/^/  validate-krew-manifest: /' >&2

export KREW_NO_UPGRADE_CHECK=1
krew() { "$BIN/krew" "$@"; }

# 5. every other platform: install from its archive with KREW_OS/KREW_ARCH
for p in $(info platforms); do
  [ "$p" != linux/amd64 ] || continue
  os=${p%/*} arch=${p#*/}
  ext=; [ "$os" = windows ] && ext=.exe
  root=$WORK/krew-$os-$arch
  if ! out=$(KREW_ROOT=$root KREW_OS=$os KREW_ARCH=$arch krew install --manifest="$MANIFEST" \
    --archive="$DIST/kubectl-pyrometer_${VERSION}_${os}_${arch}.tar.gz" 2>&1); then
    echo "$out" >&2
    fail "krew install for $p failed"
  fi
  store=$root/store/pyrometer/$VERSION
  [ -e "$root/bin/kubectl-pyrometer$ext" ] || fail "$p: krew created no bin/kubectl-pyrometer$ext"
  [ -f "$store/LICENSE" ] || fail "$p: LICENSE not installed"
  [ "$os" = windows ] || [ -x "$store/kubectl_complete-pyrometer" ] || fail "$p: kubectl_complete-pyrometer not installed"
  log "$p: installs (bin link, LICENSE$([ "$os" = windows ] || echo ', completion shim'))"
done

# 6. linux/amd64 for real
export KREW_ROOT=$WORK/krew
mkdir -p "$KREW_ROOT/index/default/.git" # krew uninstall insists on an index; install --manifest needs none
log "krew install --manifest=$MANIFEST --archive=$ARCHIVE (KREW_ROOT=$KREW_ROOT)"
if ! out=$(krew install --manifest="$MANIFEST" --archive="$ARCHIVE" 2>&1); then
  echo "$out" >&2
  fail "krew install failed"
fi
STORE=$KREW_ROOT/store/pyrometer/$VERSION
for f in "$KREW_ROOT/receipts/pyrometer.yaml" "$KREW_ROOT/bin/kubectl-pyrometer" "$STORE/LICENSE" \
  "$STORE/kubectl-pyrometer" "$STORE/kubectl_complete-pyrometer"; do
  [ -e "$f" ] || fail "krew install left no ${f#"$KREW_ROOT"/}"
done

SHIMS=$WORK/path
mkdir -p "$SHIMS"
cp "$STORE/kubectl_complete-pyrometer" "$SHIMS/" # what the README tells users to do
export PATH=$KREW_ROOT/bin:$SHIMS:$PATH
[ "$(command -v kubectl-pyrometer)" = "$KREW_ROOT/bin/kubectl-pyrometer" ] ||
  fail "kubectl-pyrometer resolves to $(command -v kubectl-pyrometer), not the krew-installed one"
if ! out=$("$KUBECTL" pyrometer version --client 2>&1); then
  echo "$out" >&2
  fail "kubectl pyrometer version --client failed"
fi
echo "$out" | sed 's/^/  kubectl pyrometer version --client: /' >&2
field() { awk -v k="$1" '{ l = $0; sub(/^ +/, "", l) } index(l, k) == 1 { $0 = substr(l, length(k) + 1); print $1 }' <<<"$out"; }
[ "$(field "Plugin Version:")" = "$VERSION" ] || fail "kubectl pyrometer version --client does not print version $VERSION"
[ "$(field "Git Commit:")" = "$COMMIT" ] || fail "kubectl pyrometer version --client does not print commit $COMMIT"

if ! out=$("$KUBECTL" __complete pyrometer completion "" 2>/dev/null); then
  fail "kubectl __complete pyrometer failed"
fi
got=$(echo "$out" | grep -v '^:' | tr '\n' ' ')
[ "$got" = "bash zsh fish " ] ||
  fail "kubectl __complete pyrometer completion \"\" gave \"$got\", want \"bash zsh fish \" (kubectl_complete-pyrometer shim)"
log "kubectl completion reaches the plugin through kubectl_complete-pyrometer: $got"

if ! out=$(krew uninstall pyrometer 2>&1); then
  echo "$out" >&2
  fail "krew uninstall pyrometer failed"
fi
left=$(find "$KREW_ROOT" -iname '*pyrometer*' | sed "s|^$KREW_ROOT/||")
[ -z "$left" ] || fail "krew uninstall left: $(echo "$left" | tr '\n' ' ')"
left=$(find "$KREW_ROOT/store" "$KREW_ROOT/receipts" "$KREW_ROOT/bin" -mindepth 1 | sed "s|^$KREW_ROOT/||")
[ -z "$left" ] || fail "krew uninstall left: $(echo "$left" | tr '\n' ' ')"

trap - ERR
echo "PASS: test-krew: krew $KREW_VERSION validated and installed pyrometer $VERSION ($(info platforms | wc -w) platforms), kubectl ran it, uninstall left nothing ($((SECONDS - start))s)"
