#!/usr/bin/env bash
# A throwaway, registry-free Kubernetes cluster made of real processes on this machine, for tests and demos.
#
#   hack/local-cluster.sh up       etcd + kube-apiserver + controller-manager + scheduler, one REAL node
#                                  (containerd + kubelet + kube-proxy, bridge CNI) and N kwok fake nodes
#   hack/local-cluster.sh down     stop exactly the processes `up` started (pid files), undo its network and
#                                  sysctl changes, remove its state
#   hack/local-cluster.sh status   processes, their memory, and the nodes
#   hack/local-cluster.sh env      print `export KUBECONFIG=...` (eval "$(hack/local-cluster.sh env)")
#   hack/local-cluster.sh load TAR import an image tarball (docker-save format) into the node's containerd
#   hack/local-cluster.sh restart-apiserver   restart kube-apiserver alone (after a flag change here)
#
# Env: PYROMETER_CACHE (default ~/.cache/kubectl-pyrometer; binaries in bin/, cluster state in cluster/),
#      KWOK_NODES (3), KWOK_NODE_CPU/KWOK_NODE_MEM/KWOK_NODE_PODS (8/32Gi/110), REAL_NODE (1), NODE_MAX_PODS (110).
# Binaries come from hack/setup.sh. Everything listens on 127.0.0.1 or the pod bridge 10.244.0.1; cluster address
# ranges are blackholed and pod traffic is never forwarded off the machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
BIN=$CACHE/bin
C=$CACHE/cluster
PKI=$C/pki RUN=$C/run LOGS=$C/logs ETC=$C/etc IMAGES=$C/images
KUBECONFIG_ADMIN=$C/kubeconfig
CONTEXT=pyrometer-local
NODE_NAME=${NODE_NAME:-$(hostname | tr 'A-Z_' 'a-z-')}
SERVICE_CIDR=10.96.0.0/16
CLUSTER_CIDR=10.244.0.0/16
BRIDGE_GW=10.244.0.1      # pod bridge gateway: apiserver and kubelet listen here; pods reach the apiserver here
POD_SUBNET=10.244.0.0/24
KWOK_CIDR=10.250.0.0/16   # fake pod IPs handed out by kwok (never routed)
SERVER=https://$BRIDGE_GW:6443
export PATH=$BIN:$PATH

ts() { date +%s.%N; }
log() { echo "[local-cluster $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }

need_bin() { # need_bin <name>...: fail naming the missing piece
  local b; for b in "$@"; do
    command -v "$b" >/dev/null 2>&1 || die "$b not found (looked in $BIN and PATH): run hack/setup.sh first"
  done
}

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start() { # start <name> <cmd...>: in its own session, log to logs/<name>.log, pid in run/<name>.pid
  local name=$1; shift
  mkdir -p "$RUN" "$LOGS"
  if running "$name"; then log "$name already running (pid $(cat "$RUN/$name.pid"))"; return 0; fi
  # Close every inherited descriptor above 2 first: a long-lived component must not keep open what the caller
  # holds (e.g. the e2e lock of `flock /tmp/pyrometer-e2e.lock hack/local-cluster.sh ...`, held while it lives).
  (
    for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
    exec setsid "$@"
  ) >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  log "started $name (pid $!)"
}

stop() { # stop <name>: SIGTERM the recorded pid, SIGKILL after 10 s
  local name=$1 pid
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "$name did not exit, SIGKILL"; kill -9 "$pid" 2>/dev/null || true; fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$RUN/$name.pid"
}

wait_for() { # wait_for <desc> <timeout-s> <cmd...>
  local desc=$1 t=$2; shift 2
  local end=$(($(date +%s) + t))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then log "timeout after ${t}s waiting for $desc; last lines of logs:"; tail -n 5 "$LOGS"/*.log >&2 || true; return 1; fi
    sleep 0.2
  done
}

kubeconfig() { # kubeconfig <file> <cert-basename> <user>
  local f=$1 cert=$2 user=$3
  kubectl config set-cluster $CONTEXT --server=$SERVER --certificate-authority="$PKI/ca.crt" --embed-certs=true --kubeconfig="$f" >/dev/null
  kubectl config set-credentials "$user" --client-certificate="$PKI/$cert.crt" --client-key="$PKI/$cert.key" --embed-certs=true --kubeconfig="$f" >/dev/null
  kubectl config set-context $CONTEXT --cluster=$CONTEXT --user="$user" --kubeconfig="$f" >/dev/null
  kubectl config use-context $CONTEXT --kubeconfig="$f" >/dev/null
  chmod 600 "$f"
}

k() { kubectl --kubeconfig="$KUBECONFIG_ADMIN" "$@"; }

healthy() { k get --raw /readyz >/dev/null 2>&1; }

net_guard() {
  # Traffic to cluster ranges must never leave this machine: without a local route these addresses would follow the
  # default route out. Blackhole routes drop them; the cni0 bridge's connected /24 and kube-proxy's DNAT still work.
  local r; for r in $CLUSTER_CIDR $SERVICE_CIDR $KWOK_CIDR; do ip route replace blackhole "$r"; done
  iptables -C FORWARD -i cni0 ! -o cni0 -j DROP 2>/dev/null || iptables -I FORWARD -i cni0 ! -o cni0 -j DROP
  # The bridge exists before the apiserver so it can listen on the gateway address.
  if ! ip link show cni0 >/dev/null 2>&1; then
    ip link add cni0 type bridge
    ip addr add $BRIDGE_GW/24 dev cni0
  fi
  ip link set cni0 up
}

build_images() { # local images, no registry: pause (static C) and busybox (Debian busybox-static)
  mkdir -p "$IMAGES"
  [ -f "$IMAGES/pause.tar" ] && [ -f "$IMAGES/busybox.tar" ] && return 0
  local w; w=$(mktemp -d)
  gcc -Os -static -o "$w/pause" "$ROOT/hack/images/pause.c" && strip "$w/pause"
  mkdir -p "$w/rootfs-pause" && cp "$w/pause" "$w/rootfs-pause/pause"
  "$ROOT/hack/mkimage.sh" localhost/pause:local "$w/rootfs-pause" "$IMAGES/pause.tar" '["/pause"]' >/dev/null
  local r=$w/rootfs-busybox
  mkdir -p "$r"/{bin,etc,tmp,proc,sys,dev,root}
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  chmod 1777 "$r/tmp"
  "$ROOT/hack/mkimage.sh" localhost/busybox:local "$r" "$IMAGES/busybox.tar" '["/bin/sh"]' >/dev/null
  rm -rf "$w"
}

# start_apiserver: kube-apiserver on the running etcd, waited for until ready.
# --feature-gates=WatchList=false: since 1.34 (WatchList on by default) the apiserver turns a watch from
# resourceVersion=0 with allowWatchBookmarks (kwok's and other informers' reflectors) into a streaming list, which
# the watch cache serves only with etcd's RequestWatchProgress (etcd >= 3.4.31 / 3.5.13); with an older etcd it
# fails with "a watch stream was requested by the client but the required storage feature RequestWatchProgress is
# disabled", the clients fall back to list + watch with delays, and kwok sees pods seconds late.
start_apiserver() {
  start kube-apiserver kube-apiserver \
    --etcd-servers=http://127.0.0.1:2379 \
    --bind-address=$BRIDGE_GW --secure-port=6443 --advertise-address=$BRIDGE_GW \
    --service-cluster-ip-range=$SERVICE_CIDR \
    --client-ca-file="$PKI/ca.crt" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --kubelet-preferred-address-types=InternalIP,Hostname,ExternalIP \
    --allow-privileged=true --profiling=false \
    --feature-gates=WatchList=false
  wait_for "apiserver /readyz" 120 k get --raw /readyz
}

up_control_plane() {
  need_bin etcd etcdctl kube-apiserver kube-controller-manager kube-scheduler kubectl openssl
  NODE_NAME=$NODE_NAME "$ROOT/hack/gen-certs.sh" "$PKI" "$BRIDGE_GW" >/dev/null
  mkdir -p "$ETC"
  kubeconfig "$KUBECONFIG_ADMIN" admin admin
  kubeconfig "$ETC/controller-manager.kubeconfig" controller-manager system:kube-controller-manager
  kubeconfig "$ETC/scheduler.kubeconfig" scheduler system:kube-scheduler

  mkdir -p "$RUN/etcd"
  start etcd etcd --name default --data-dir "$RUN/etcd/data" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster default=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
    --quota-backend-bytes $((4 * 1024 * 1024 * 1024)) --log-level warn
  wait_for etcd 30 etcdctl --endpoints=http://127.0.0.1:2379 endpoint health

  start_apiserver

  start kube-controller-manager kube-controller-manager \
    --kubeconfig="$ETC/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$ETC/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$ETC/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
    --use-service-account-credentials=true \
    --allocate-node-cidrs=true --cluster-cidr=$CLUSTER_CIDR --node-cidr-mask-size=24 \
    --service-cluster-ip-range=$SERVICE_CIDR --flex-volume-plugin-dir="$RUN/kubelet-plugins"
  start kube-scheduler kube-scheduler \
    --kubeconfig="$ETC/scheduler.kubeconfig" \
    --authentication-kubeconfig="$ETC/scheduler.kubeconfig" \
    --authorization-kubeconfig="$ETC/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false
  wait_for "controller-manager healthz" 60 curl -sfk https://127.0.0.1:10257/healthz
  wait_for "scheduler healthz" 60 curl -sfk https://127.0.0.1:10259/healthz
  wait_for "default serviceaccount" 60 k -n default get serviceaccount default
}

up_node() {
  need_bin containerd ctr runc kubelet kube-proxy conntrack gcc
  [ -x /usr/lib/cni/bridge ] || die "CNI plugins missing in /usr/lib/cni: run hack/setup.sh (containernetworking-plugins)"
  mkdir -p "$RUN/containerd" "$ETC/cni/net.d" "$RUN/kubelet" "$RUN/pod-logs" "$RUN/cni"
  # kubelet and kube-proxy rewrite some kernel tunables; remember them so `down` puts them back
  [ -f "$RUN/sysctl.orig" ] || sysctl -e vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
    net.ipv4.conf.all.route_localnet net.ipv4.ip_forward 2>/dev/null | sed 's/ //g' >"$RUN/sysctl.orig"
  cat >"$ETC/cni/net.d/10-bridge.conflist" <<EOF
{"cniVersion":"0.4.0","name":"pyrometer","plugins":[
 {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,"hairpinMode":true,
  "ipam":{"type":"host-local","dataDir":"$RUN/cni","ranges":[[{"subnet":"$POD_SUBNET","gateway":"$BRIDGE_GW"}]],
          "routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true}}]}
EOF
  cat >"$ETC/containerd.toml" <<EOF
version = 2
root = "$RUN/containerd/root"
state = "$RUN/containerd/state"
[grpc]
  address = "$RUN/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:local"
  netns_mounts_under_state_dir = true
  # no CAP_SYS_RESOURCE in this sandbox: negative oom_score_adj would make runc fail
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ETC/cni/net.d"
EOF
  start containerd containerd --config "$ETC/containerd.toml"
  local sock=$RUN/containerd/containerd.sock
  wait_for containerd 30 ctr -a "$sock" version
  build_images
  local i; for i in pause busybox; do ctr -a "$sock" -n k8s.io images import "$IMAGES/$i.tar" >/dev/null; done
  ctr -a "$sock" -n k8s.io images label localhost/pause:local io.cri-containerd.pinned=pinned >/dev/null || true
  for i in "$IMAGES"/extra-*.tar; do [ -e "$i" ] && ctr -a "$sock" -n k8s.io images import "$i" >/dev/null; done

  kubeconfig "$ETC/kubelet.kubeconfig" "kubelet-$NODE_NAME" "system:node:$NODE_NAME"
  cat >"$ETC/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
address: $BRIDGE_GW
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: $PKI/kubelet-serving-$NODE_NAME.crt
tlsPrivateKeyFile: $PKI/kubelet-serving-$NODE_NAME.key
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$sock
failSwapOn: false
clusterDomain: cluster.local
resolvConf: ""
volumePluginDir: $RUN/kubelet-plugins
podLogsDir: $RUN/pod-logs
serializeImagePulls: false
maxPods: ${NODE_MAX_PODS:-110}
evictionHard: {memory.available: "200Mi", nodefs.available: "5%", imagefs.available: "5%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
EOF
  start kubelet kubelet --config="$ETC/kubelet.yaml" --kubeconfig="$ETC/kubelet.kubeconfig" \
    --root-dir="$RUN/kubelet" --cert-dir="$RUN/kubelet/pki" --hostname-override="$NODE_NAME" --node-ip=$BRIDGE_GW
  wait_for "node $NODE_NAME Ready" 120 k wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
  k label node "$NODE_NAME" kubepyrometer.io/real-node=true --overwrite >/dev/null

  kubeconfig "$ETC/kube-proxy.kubeconfig" kube-proxy system:kube-proxy
  touch "$RUN/kube-proxy.used"
  start kube-proxy kube-proxy --kubeconfig="$ETC/kube-proxy.kubeconfig" --hostname-override="$NODE_NAME" \
    --proxy-mode=iptables --cluster-cidr=$CLUSTER_CIDR --conntrack-max-per-core=0 \
    --bind-address=127.0.0.1 --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256
  wait_for "kube-proxy healthz" 60 curl -sf http://127.0.0.1:10256/healthz
}

up_kwok() {
  local n=$1
  [ "$n" -gt 0 ] || return 0
  need_bin kwok
  kubeconfig "$ETC/kwok.kubeconfig" kwok kwok-controller
  # The kwok binary ships no stages: take the "fast" node/pod stages from its Go module source.
  local v kdir f
  v=$(kwok --version 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -1)
  kdir=$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$kdir/kustomize/stage" ] || die "kwok stages not found for sigs.k8s.io/kwok@$v (go mod download failed)"
  for f in "$kdir"/kustomize/stage/{node/fast,node/heartbeat-with-lease,pod/fast}/*.yaml; do echo "---"; cat "$f"; done >"$ETC/kwok-stages.yaml"
  start kwok kwok --kubeconfig="$ETC/kwok.kubeconfig" --config="$ETC/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --manage-nodes-with-label-selector= --manage-single-node= \
    --cidr=10.250.0.1/16 --node-ip=127.0.0.1 --node-lease-duration-seconds=40 \
    --server-address=127.0.0.1:10247 --node-port=10247 \
    --tls-cert-file="$PKI/kubelet-serving-$NODE_NAME.crt" --tls-private-key-file="$PKI/kubelet-serving-$NODE_NAME.key"
  local i
  for i in $(seq 0 $((n - 1))); do
    cat <<EOF | k apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
spec:
  # fake nodes run nothing: only pods that tolerate this taint (scheduling tests) land on them
  taints: [{key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}]
status:
  allocatable: {cpu: "${KWOK_NODE_CPU:-8}", memory: "${KWOK_NODE_MEM:-32Gi}", pods: "${KWOK_NODE_PODS:-110}", ephemeral-storage: 100Gi}
  capacity:    {cpu: "${KWOK_NODE_CPU:-8}", memory: "${KWOK_NODE_MEM:-32Gi}", pods: "${KWOK_NODE_PODS:-110}", ephemeral-storage: 100Gi}
EOF
  done
  [ "$n" -gt 0 ] && wait_for "kwok nodes Ready" 60 k wait --for=condition=Ready node -l type=kwok --timeout=1s
  log "kwok: $n fake nodes"
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "must run as root (it starts a kubelet and changes routes/iptables)"
  local t0; t0=$(ts)
  if healthy && running kube-apiserver; then
    log "already up"
  else
    if [ -d "$RUN" ]; then
      # processes of an earlier session died (or were killed) and left pid files, mounts, routes: start clean
      log "stale state from an earlier up: cleaning it first"
      cmd_down
    fi
    net_guard
    up_control_plane
    [ "${REAL_NODE:-1}" = 1 ] && up_node
    up_kwok "${KWOK_NODES:-3}"
  fi
  awk -v a="$t0" -v b="$(ts)" 'BEGIN{printf "[local-cluster] up in %.1fs\n", b-a}' >&2
  cat >&2 <<EOF
[local-cluster] kubeconfig: $KUBECONFIG_ADMIN (context $CONTEXT, cluster-admin)
  export KUBECONFIG=$KUBECONFIG_ADMIN        # or: eval "\$(hack/local-cluster.sh env)"
  kubectl get nodes
  bin/kubectl-pyrometer --kubeconfig $KUBECONFIG_ADMIN version
  hack/local-cluster.sh down                  # when done
EOF
}

cmd_load() {
  local tar=${1:?usage: local-cluster.sh load IMAGE.tar}
  [ -f "$tar" ] || die "image tarball $tar not found"
  mkdir -p "$IMAGES"
  cp "$tar" "$IMAGES/extra-$(basename "$tar")" # re-imported on the next `up`
  if running containerd; then
    ctr -a "$RUN/containerd/containerd.sock" -n k8s.io images import "$tar" >/dev/null
    log "imported $tar into the node's containerd"
  else
    log "node not running: $tar will be imported by the next up"
  fi
}

cmd_restart_apiserver() { # restart kube-apiserver alone (new flags), keeping etcd, the node and what runs
  [ "$(id -u)" = 0 ] || die "must run as root"
  running etcd || die "etcd is not running: use up"
  stop kube-apiserver
  start_apiserver
  log "kube-apiserver restarted"
}

cmd_status() {
  local f any=0
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || continue
    any=1
    local n pid; n=$(basename "$f" .pid); pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      printf '%-24s pid %-7s RSS %6d MiB\n' "$n" "$pid" $(($(awk '/VmRSS/{print $2}' "/proc/$pid/status") / 1024))
    else printf '%-24s pid %-7s DEAD\n' "$n" "$pid"; fi
  done
  [ $any = 1 ] || { echo "not running"; return 1; }
  healthy && k get nodes -o wide || { echo "apiserver not ready"; return 1; }
}

cmd_down() {
  stop kube-proxy
  stop kubelet
  local sock=$RUN/containerd/containerd.sock id
  if running containerd; then
    for id in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do ctr -a "$sock" -n k8s.io tasks kill -s SIGKILL "$id" 2>/dev/null || true; done
    sleep 1
    for id in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do ctr -a "$sock" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true; done
    for id in $(ctr -a "$sock" -n k8s.io containers ls -q 2>/dev/null); do ctr -a "$sock" -n k8s.io containers rm "$id" >/dev/null 2>&1 || true; done
  fi
  stop containerd
  # a containerd that died (e.g. with the session) leaves its shims and their containers: ours are the shims
  # serving our socket and the processes in our kubelet's kubepods cgroups
  local p
  for p in $(pgrep -f "containerd-shim.* -address $RUN/containerd/containerd.sock" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  for p in $(cat /sys/fs/cgroup/pids/kubepods/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/cgroup.procs \
      /sys/fs/cgroup/pids/kubepods/*/*/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/*/*/cgroup.procs 2>/dev/null); do
    kill -9 "$p" 2>/dev/null || true
  done
  if [ -f "$RUN/kube-proxy.used" ]; then kube-proxy --cleanup >/dev/null 2>&1 || true; fi
  if [ -f "$RUN/sysctl.orig" ]; then # drop the KUBE-* chains and rules kubelet/kube-proxy added
    local t ipt
    for t in filter nat mangle; do for ipt in iptables ip6tables; do
      "$ipt-save" -t "$t" 2>/dev/null | grep -v -- KUBE | "$ipt-restore" -T "$t" 2>/dev/null || true
    done; done
  fi
  stop kwok
  stop kube-scheduler
  stop kube-controller-manager
  stop kube-apiserver
  stop etcd
  if [ -d "$RUN" ]; then # unmount pod volumes, netns and overlay mounts below run/, deepest first
    findmnt -rn -o TARGET | grep "^$RUN/" | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  fi
  local h; for h in /sys/fs/cgroup/*/; do
    [ -d "$h/kubepods" ] && find "$h/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  ip link del cni0 2>/dev/null || true
  iptables -D FORWARD -i cni0 ! -o cni0 -j DROP 2>/dev/null || true
  [ -f "$RUN/sysctl.orig" ] && { sysctl -q -p "$RUN/sysctl.orig" 2>/dev/null || true; }
  local l; for l in /var/log/containers/*.log; do # links kubelet writes outside run/ (hard-coded paths)
    if [ -L "$l" ]; then case $(readlink "$l") in "$RUN"/*) rm -f "$l" ;; esac; fi
  done
  rm -f /var/lib/cni/results/pyrometer-* /var/lib/cni/results/cni-loopback-* /var/lib/kubelet/device-plugins/kubelet.sock
  local d; for d in /var/lib/kubelet /var/lib/cni /run/containerd /var/log/containers /usr/libexec/kubernetes; do
    [ -d "$d" ] && find "$d" -depth -type d -empty -delete 2>/dev/null || true
  done
  local r; for r in $CLUSTER_CIDR $SERVICE_CIDR $KWOK_CIDR; do ip route del blackhole "$r" 2>/dev/null || true; done
  rm -rf "$RUN" "$ETC" "$PKI" "$KUBECONFIG_ADMIN"
  log "down"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) echo "export KUBECONFIG=$KUBECONFIG_ADMIN" ;;
  load) shift; cmd_load "$@" ;;
  restart-apiserver) cmd_restart_apiserver ;;
  *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
