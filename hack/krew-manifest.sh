#!/usr/bin/env bash
# Renders .krew.yaml (the krew-release-bot template) for the archives in dist/ into dist/krew/pyrometer.yaml
# (make krew-manifest), the way the bot renders it for a release but pointing at the local files:
#
#   {{ .TagName }}                   -> the tag (VERSION, which must be the version dist/ was built for)
#   {{ .Version }}                   -> the tag's numeric part (v1.2.3-rc.1 -> 1.2.3), as the bot does
#   {{addURIAndSha "URL" .TagName }} -> uri: file://<abs>/dist/<file name of URL>
#                                       sha256: <sha256 of that file>
#
# Strict, so that a name in .krew.yaml that does not match what hack/dist.sh writes fails here rather than on
# release day: every URL must be a release download URL of this repository for the tag and name an archive in
# dist/; every archive in dist/ must be named by exactly one platform entry; the call must be indented 4 spaces
# (the bot writes the sha256 line at 4). Entries for platforms dist/ did not build (a partial dist from
# hack/test-krew.sh) are left out, with a note. Any other template action is an error: what renders here renders
# with the bot.
#
#   hack/krew-manifest.sh [TEMPLATE [OUTPUT]]   defaults: .krew.yaml dist/krew/pyrometer.yaml
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DIST=${DIST_DIR:-dist}
TEMPLATE=${1:-.krew.yaml}
OUT=${2:-$DIST/krew/pyrometer.yaml}
REPO_URL=https://github.com/kubepyrometer/kubectl-pyrometer
fail() { echo "krew-manifest: $*" >&2; exit 1; }

[ -f "$DIST/.dist-info" ] || fail "$DIST/.dist-info not found: run make dist first"
info() { sed -n "s/^$1=//p" "$DIST/.dist-info"; }
BUILT=$(info version)
TAG=${VERSION:-$BUILT}
[ "$TAG" = "$BUILT" ] || fail "$DIST/ holds $BUILT archives, not $TAG: run make dist (VERSION=$TAG)"
DIST_ABS=$(cd "$DIST" && pwd)

sums=$(mktemp)
trap 'rm -f "$sums" "$OUT.tmp"' EXIT
(cd "$DIST" && for f in *.tar.gz *.zip; do [ ! -f "$f" ] || sha256sum "$f"; done) >"$sums"
[ -s "$sums" ] || fail "no archives in $DIST/"

mkdir -p "$(dirname "$OUT")"
awk -v tag="$TAG" -v base="$REPO_URL/releases/download/$TAG/" -v dist="$DIST_ABS" \
  -v platforms="$(info platforms)" -v sums="$sums" -v tmpl="$TEMPLATE" '
function die(msg) { printf "krew-manifest: %s:%d: %s\n", tmpl, cur, msg > "/dev/stderr"; failed = 1; exit 1 }
function subst(s) {
  gsub(/\{\{ *\.TagName *\}\}/, tag, s)
  gsub(/\{\{ *\.Version *\}\}/, version, s)
  return s
}
# flush prints the buffered lines (one platform entry, or a single line outside the platforms list).
function flush(   i, key, line, ind, url, file) {
  if (!nb) return
  key = os "/" arch
  if (inplat && !(key in built)) { skipped = skipped " " key; nb = 0; return }
  if (inplat) seen[key]++
  for (i = 1; i <= nb; i++) {
    line = b[i]; cur = lineno[i]
    if (line ~ /addURIAndSha/) {
      if (!match(line, /^ *\{\{ *addURIAndSha +"[^"]*" +\.TagName *\}\} *$/))
        die("expected {{addURIAndSha \"URL\" .TagName }} alone on its line")
      ind = line; sub(/[^ ].*/, "", ind)
      if (ind != "    ") die("addURIAndSha must be indented by 4 spaces (krew-release-bot writes sha256 at 4)")
      url = line; sub(/^ *\{\{ *addURIAndSha +"/, "", url); sub(/" +\.TagName *\}\} *$/, "", url)
      url = subst(url)
      if (index(url, base) != 1) die("URL " url " does not start with " base)
      file = substr(url, length(base) + 1)
      if (!(file in sha)) die("no archive " file " in dist/ (built: " platforms ")")
      used[file]++
      line = ind "uri: file://" dist "/" file "\n" ind "sha256: " sha[file]
    }
    line = subst(line)
    if (line ~ /\{\{|\}\}/) die("unsupported template action (only .TagName, .Version and addURIAndSha): " line)
    print line
  }
  nb = 0
}
BEGIN {
  version = tag
  if (match(tag, /[0-9]+(\.[0-9]+)+/)) version = substr(tag, RSTART, RLENGTH)
  while ((getline l < sums) > 0) { f = l; sub(/^[0-9a-f]+ +\*?/, "", f); sha[f] = substr(l, 1, 64) }
  n = split(platforms, pl, " "); for (i = 1; i <= n; i++) built[pl[i]] = 1
}
{
  if (inplat && ($0 ~ /^    / || $0 ~ /^ *$/)) {           # inside a platform entry
    b[++nb] = $0; lineno[nb] = FNR
    if ($0 ~ /^ +os: /)   { os = $2;   gsub(/["\047]/, "", os) }
    if ($0 ~ /^ +arch: /) { arch = $2; gsub(/["\047]/, "", arch) }
    next
  }
  flush(); inplat = 0
  if ($0 ~ /^  platforms:/) { section = 1 }
  else if (section && $0 ~ /^  - /) { inplat = 1; os = ""; arch = "" }
  else if ($0 !~ /^ *(#.*)?$/) { section = 0 }
  b[++nb] = $0; lineno[nb] = FNR
  if (!inplat) flush()
}
END {
  if (failed) exit 1
  flush()
  if (failed) exit 1
  for (k in built) if (seen[k] != 1) {
    printf "krew-manifest: %s: %d platform entries for %s, want 1\n", tmpl, seen[k], k > "/dev/stderr"; exit 1
  }
  for (f in sha) if (used[f] != 1) {
    printf "krew-manifest: %s: archive %s is named by %d platform entries, want 1\n", tmpl, f, used[f] > "/dev/stderr"; exit 1
  }
  if (skipped != "") printf "krew-manifest: note: dist/ has no archives for%s; left out of the manifest\n", skipped > "/dev/stderr"
}' "$TEMPLATE" >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "krew-manifest: wrote $OUT ($TAG, $(grep -c '^    sha256: ' "$OUT") platforms)" >&2
