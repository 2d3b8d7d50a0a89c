#!/usr/bin/env bash
# Static checks: gofmt, go vet (incl. the e2e build tag), go mod tidy diff, the k8s.io pins that kube-burner needs,
# and lint (staticcheck, unparam; installed by hack/tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
bad=$(gofmt -s -l $(git ls-files '*.go'))
[ -z "$bad" ] || { echo "gofmt -s needed: $bad"; fail=1; }
go vet ./... || fail=1
go vet -tags e2e ./test/e2e/... || fail=1
cp go.mod /tmp/pyrometer-go.mod.bak; cp go.sum /tmp/pyrometer-go.sum.bak
go mod tidy
if ! git diff --quiet -- go.mod go.sum; then echo "go mod tidy changes go.mod/go.sum:"; git --no-pager diff -- go.mod go.sum | head -40; fail=1; fi
cp /tmp/pyrometer-go.mod.bak go.mod; cp /tmp/pyrometer-go.sum.bak go.sum
# kube-burner (and kubevirt's client it imports) needs k8s.io/* v0.34: a `go get -u` must not move them.
for m in k8s.io/client-go k8s.io/api k8s.io/apimachinery k8s.io/cli-runtime; do
  go list -m "$m" | grep -q '=> .* v0\.34\.' || { echo "$m does not resolve to v0.34 (go list -m: $(go list -m "$m"))"; fail=1; }
done
# Lint: staticcheck (its default checks, unused among them: dead code) on every package and test, with the e2e
# build tag so test/e2e is checked too (no file is left out by it); unparam (-exported: exported functions too) on
# the product code (tests' helpers may keep a parameter that reads well). Pinned tools from hack/tools.sh.
tools=$(hack/tools.sh)
lint() {
  local rc=0 out
  out=$("$@" 2>&1) || rc=$?
  if [ -n "$out" ] || [ $rc != 0 ]; then echo "${out:-$1 failed (exit $rc)}"; fail=1; fi
}
lint "$tools/staticcheck" -tags e2e ./...
lint env GOFLAGS=-tags=e2e "$tools/unparam" -exported ./...
[ $fail = 0 ] && echo "verify: ok" || { echo "verify: FAILED"; exit 1; }
