#!/usr/bin/env bash
# Installs everything the tests and the local cluster need, idempotently, and caches the builds.
#
#   hack/setup.sh            Debian packages + Kubernetes binaries + kwok (+ its image) + lint tools (hack/tools.sh)
#
# Debian packages: etcd-server, etcd-client, containerd, runc, containernetworking-plugins, busybox-static,
# iptables, conntrack, openssl, curl, gcc (static pause), tmux (the interactive e2e tests drive a terminal).
# Kubernetes v1.34 binaries (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy) are built
# from the Go module k8s.io/kubernetes via hack/k8sbuild; kwok from sigs.k8s.io/kwok. Both land in
# $PYROMETER_CACHE/bin (default ~/.cache/kubectl-pyrometer/bin), outside the repository, and are rebuilt only when
# missing or of another version. Cold: ~25 min on 2 cores; warm: seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
BIN=$CACHE/bin
K8S_VERSION=$(awk '$1=="require" && $2=="k8s.io/kubernetes"{print $3}' "$ROOT/hack/k8sbuild/go.mod")
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
log() { echo "[setup $(date +%T)] $*" >&2; }

command -v go >/dev/null || { log "go is not installed: install Go >= 1.26 first"; exit 1; }

# 1. Debian packages
PKGS="etcd-server etcd-client containerd runc containernetworking-plugins busybox-static iptables conntrack openssl curl gcc libc6-dev tmux"
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
  [ "$(id -u)" = 0 ] || { log "missing Debian packages: $missing(run as root or apt-get install them)"; exit 1; }
  log "apt-get install $missing"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
  # Debian starts these as services on install; the local cluster runs its own instances.
  for s in etcd containerd; do systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true; done
fi

# 2. Kubernetes binaries from k8s.io/kubernetes (hack/k8sbuild pins the module graph)
CMDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy"
need=""
for c in $CMDS; do
  "$BIN/$c" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION" || need="$need $c"
done
if [ -n "$need" ]; then
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ldf="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  targets=(); for c in $need; do targets+=("k8s.io/kubernetes/cmd/$c"); done
  log "building$need $K8S_VERSION (cold Go cache ~20 min on 2 cores; warm ~20 s)"
  mkdir -p "$BIN"
  (cd "$ROOT/hack/k8sbuild" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldf" -o "$BIN/" "${targets[@]}")
fi

# 3. kwok (fake nodes)
if ! "$BIN/kwok" --version 2>/dev/null | grep -q "$KWOK_VERSION"; then
  log "building kwok $KWOK_VERSION (~5 min cold)"
  mkdir -p "$BIN"
  GOBIN=$BIN CGO_ENABLED=0 GOFLAGS=-mod=mod go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
# 4. kwok's controller image (hollow nodes, pkg/hollow), from the binary above: $CACHE/images/kwok-<version>-<arch>.tar
KWOK_VERSION=$KWOK_VERSION "$ROOT/hack/kwok-image.sh" >/dev/null
# 5. lint tools for make verify (staticcheck, unparam), pinned in hack/tools.sh
"$ROOT/hack/tools.sh" >/dev/null
log "ready: $(ls "$BIN" | tr '\n' ' ')"
