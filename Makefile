# kubectl-pyrometer. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

MODULE   := github.com/kubepyrometer/kubectl-pyrometer
BIN      := bin/kubectl-pyrometer
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null | grep '^v' || echo v0.0.0-dev)
COMMIT   ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s) +%Y-%m-%dT%H:%M:%SZ)
CACHE    ?= $(or $(PYROMETER_CACHE),$(HOME)/.cache/kubectl-pyrometer)
PROBE_IMAGE ?= ghcr.io/kubepyrometer/kubectl-pyrometer:$(VERSION)
LDFLAGS  := -s -w -X $(MODULE)/pkg/version.version=$(VERSION) -X $(MODULE)/pkg/version.commit=$(COMMIT) \
            -X $(MODULE)/pkg/version.date=$(DATE) -X $(MODULE)/pkg/version.probeImage=$(PROBE_IMAGE)
export CGO_ENABLED ?= 0

.PHONY: help build image test test-unit test-e2e verify demo cluster-up cluster-down clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## Build bin/kubectl-pyrometer (version stamped from git)
	go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-pyrometer

test: test-unit test-e2e test-krew ## Unit tests, end-to-end tests against a throwaway local cluster, offline krew check

test-unit: ## go test -race ./... (no cluster needed)
	CGO_ENABLED=1 go test -race -count=1 ./...

image: ## The plugin's image (in-cluster probe) as a docker-save tarball, built without Docker: dist/image/
	IMAGE='$(PROBE_IMAGE)' LDFLAGS='$(LDFLAGS)' hack/image.sh

test-e2e: build image ## End-to-end tests: the built binary against a real local cluster (started if none is given)
	hack/e2e.sh

verify: ## gofmt, go vet, go mod tidy diff, k8s.io pins, lint (staticcheck incl. unused, unparam; hack/tools.sh)
	hack/verify.sh

demo: build ## Bring up the local cluster and run the plugin against it
	hack/demo.sh

cluster-up: ## Start the local test cluster (hack/local-cluster.sh up)
	hack/local-cluster.sh up

cluster-down: ## Stop the local test cluster and remove its state
	hack/local-cluster.sh down

clean: ## Remove build outputs
	rm -rf bin dist

.PHONY: dist krew-manifest test-krew

dist: ## Release archives for linux/darwin/windows x amd64/arm64 + sha256 checksums in dist/ (reproducible)
	VERSION='$(VERSION)' hack/dist.sh

krew-manifest: ## Render .krew.yaml for the archives in dist/ into dist/krew/pyrometer.yaml
	VERSION='$(VERSION)' hack/krew-manifest.sh

test-krew: ## Offline krew check: krew's validator, install, kubectl pyrometer version, uninstall (reuses dist/)
	VERSION='$(VERSION)' PYROMETER_CACHE='$(CACHE)' hack/test-krew.sh

.PHONY: bench bench-memory bench-churn

bench: bench-memory ## Benchmarks: memory of a 24 h probe (hack/bench-memory.sh); probe p50 for readyz vs the apiserver's own figure vs forked kubectl (hack/bench-probe.sh)
	hack/bench-probe.sh

bench-memory: ## Benchmark: memory for a 24 h probe's 5 M samples, new statistics vs the old (no cluster; hack/bench-memory.sh)
	hack/bench-memory.sh

bench-churn: ## Benchmark: highest write rate the churn engine sustains at >= 0.95 delivery vs kube-burner's flood vs the apiserver's count (hack/bench-churn.sh)
	hack/bench-churn.sh
