#!/usr/bin/env bash
# Static checks: gofmt, go vet (incl. the e2e build tag), go mod tidy diff, and the k8s.io pins that kube-burner needs.
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
[ $fail = 0 ] && echo "verify: ok" || { echo "verify: FAILED"; exit 1; }
