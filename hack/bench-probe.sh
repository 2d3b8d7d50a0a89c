#!/usr/bin/env bash
# Benchmark: how close is `kubectl pyrometer probe` to the apiserver's own latency figure, and how far is the old
# method (timing a forked `kubectl get --raw /readyz`)? One bounded run against one cluster:
#
#   1. GET /metrics (snapshot A), then `kubectl-pyrometer probe --probes readyz` for $DURATION at $RATE/s,
#      then GET /metrics (snapshot B). B - A of apiserver_request_duration_seconds{verb="GET",subresource="/readyz"}
#      gives the server-side mean (exact: sum/count) and the bucket holding its p50, for the same requests.
#   2. $FORKS sequential `kubectl get --raw /readyz` processes, each timed from fork to exit
#      (time.perf_counter around subprocess.run), between snapshots C and D.
#   3. A table: method, samples, p50, p90, mean, and p50 / server-side mean.
#
# Usage: hack/bench-probe.sh [KUBECONFIG]
#   kubeconfig: first argument, else $KUBECONFIG, else the local test cluster's (~/.cache/kubectl-pyrometer/cluster).
# Env: DURATION (20s), RATE (10 samples/s), FORKS (30), PLUGIN (bin/kubectl-pyrometer), KUBECTL (kubectl).
# Load is bounded: at most 1000 probe samples and 200 forks per run; every step has a timeout.
# Creates nothing in the cluster itself (the plugin's probe removes whatever it creates).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PYROMETER_CACHE:-$HOME/.cache/kubectl-pyrometer}
KCFG=${1:-${KUBECONFIG:-$CACHE/cluster/kubeconfig}}
DURATION=${DURATION:-20s}
RATE=${RATE:-10}
FORKS=${FORKS:-30}
PLUGIN=${PLUGIN:-$ROOT/bin/kubectl-pyrometer}
KUBECTL=${KUBECTL:-kubectl}

die() { echo "bench-probe: error: $*" >&2; exit 1; }

# ---- preflight -------------------------------------------------------------------------------------------------
[ -x "$PLUGIN" ] || die "plugin binary $PLUGIN is missing or not executable: run 'make build' first"
command -v "$KUBECTL" >/dev/null 2>&1 || die "kubectl not found in PATH (set KUBECTL=...)"
command -v python3 >/dev/null 2>&1 || die "python3 not found in PATH"
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) not found in PATH"
[ -r "$KCFG" ] || die "kubeconfig $KCFG not found: start the local cluster (make cluster-up) or pass a kubeconfig"
export KUBECONFIG=$KCFG

# Bound the load: duration (Go-style: 500ms, 20s, 1m, 1m30s) x rate <= 1000 samples, forks <= 200.
DUR_S=$(python3 - "$DURATION" <<'EOF'
import re, sys
s = sys.argv[1]
parts = re.findall(r'(\d+(?:\.\d+)?)(ms|s|m|h)', s)
if not parts or ''.join(a + b for a, b in parts) != s:
    sys.exit(1)
print(sum(float(a) * {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600}[b] for a, b in parts))
EOF
) || die "DURATION=$DURATION is not a duration like 20s or 1m"
python3 -c "import sys; d,r,f=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); \
sys.exit(0 if d>0 and r>0 and d*r<=1000 and 1<=f<=200 else 1)" "$DUR_S" "$RATE" "$FORKS" 2>/dev/null \
  || die "keep the load bounded: DURATION x RATE must be in (0, 1000] samples (got $DURATION x $RATE) and 1 <= FORKS <= 200 (got $FORKS)"

kc() { timeout 30 "$KUBECTL" --request-timeout=20s "$@"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-probe.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

SERVER=$("$KUBECTL" config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null || echo '?')
if ! kc get --raw /readyz >"$TMP/readyz.out" 2>"$TMP/readyz.err"; then
  die "cluster unreachable or not ready at $SERVER (kubeconfig $KCFG): $(cat "$TMP/readyz.err" "$TMP/readyz.out" 2>/dev/null | tr -s '\n' ' ' | cut -c1-300)"
fi
kc get --raw /version >"$TMP/version.json" 2>"$TMP/version.err" || die "GET /version failed: $(cat "$TMP/version.err")"
snap() { # snap <file>: the apiserver's /metrics
  kc get --raw /metrics >"$1" 2>"$TMP/metrics.err" \
    || die "GET /metrics failed (the server-side reference needs it; forbidden for this identity?): $(head -c 300 "$TMP/metrics.err")"
}

# ---- 1. in-process probe between two /metrics snapshots -----------------------------------------------------------
echo "bench-probe: probe readyz for $DURATION at $RATE/s, then $FORKS forked kubectl calls (server $SERVER)" >&2
snap "$TMP/m0.txt"
PROBE_DEADLINE=$(python3 -c "import sys; print(int(float(sys.argv[1])) + 120)" "$DUR_S")
if ! timeout "$PROBE_DEADLINE" "$PLUGIN" probe --probes readyz --duration "$DURATION" --rate "$RATE" -o json \
     >"$TMP/probe.json" 2>"$TMP/probe.err"; then
  die "the probe failed or exceeded ${PROBE_DEADLINE}s: $(tail -n 5 "$TMP/probe.err")"
fi
snap "$TMP/m1.txt"

# ---- 2. the old method: forked kubectl, timed from fork to exit -------------------------------------------------
snap "$TMP/m2.txt"
python3 - "$KUBECTL" "$FORKS" "$TMP/forks.txt" <<'EOF'
import subprocess, sys, time
kubectl, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(out, 'w') as f:
    for _ in range(n):
        t0 = time.perf_counter()
        r = subprocess.run([kubectl, '--request-timeout=10s', 'get', '--raw', '/readyz'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        ms = (time.perf_counter() - t0) * 1000
        f.write(f"{ms:.3f} {r.returncode}\n")
EOF
snap "$TMP/m3.txt"

# ---- 3. report ----------------------------------------------------------------------------------------------------
python3 - "$TMP" "$(nproc)" "$DURATION" "$RATE" <<'EOF'
import json, math, re, sys
tmp, ncpu, duration, rate = sys.argv[1:5]

METRICS = ('apiserver_request_duration_seconds', 'apiserver_request_sli_duration_seconds',
           'apiserver_request_slo_duration_seconds')
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

def readyz_hist(path):
    """Per metric: {'sum': s, 'count': c, 'buckets': {le: cumulative}} over all GET /readyz series."""
    out = {}
    for line in open(path):
        if line.startswith('#'):
            continue
        m = LINE.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), dict(LABEL.findall(m.group(2) or '')), float(m.group(3))
        base = next((b for b in METRICS if name in (b + '_sum', b + '_count', b + '_bucket')), None)
        if base is None or labels.get('verb') != 'GET':
            continue
        if '/readyz' not in (labels.get('subresource'), labels.get('path')):
            continue
        h = out.setdefault(base, {'sum': 0.0, 'count': 0.0, 'buckets': {}})
        if name.endswith('_sum'):
            h['sum'] += value
        elif name.endswith('_count'):
            h['count'] += value
        else:
            le = float('inf') if labels['le'] == '+Inf' else float(labels['le'])
            h['buckets'][le] = h['buckets'].get(le, 0.0) + value
    return out

def delta(a_path, b_path):
    a, b = readyz_hist(a_path), readyz_hist(b_path)
    for base in METRICS:
        if base in b:
            ha = a.get(base, {'sum': 0.0, 'count': 0.0, 'buckets': {}})
            hb = b[base]
            d = {'metric': base, 'sum': hb['sum'] - ha['sum'], 'count': hb['count'] - ha['count'],
                 'buckets': {le: v - ha['buckets'].get(le, 0.0) for le, v in hb['buckets'].items()}}
            if d['count'] < 0:
                sys.exit('bench-probe: error: the apiserver\'s counters went backwards (restarted during the run?)')
            return d
    sys.exit('bench-probe: error: no GET /readyz series of %s in /metrics' % ' / '.join(METRICS))

def p50_bucket(d):
    """The histogram bucket (lo, hi] in ms where the cumulative count first reaches half of the total."""
    if d['count'] <= 0:
        return None
    lo = 0.0
    for le in sorted(d['buckets']):
        if d['buckets'][le] >= d['count'] / 2:
            return lo * 1000, le * 1000
        lo = le
    return None

def fmt_bucket(b):
    if b is None:
        return 'n/a'
    lo, hi = b
    return '(%g, %s]' % (lo, 'inf' if math.isinf(hi) else '%g' % hi)

def nearest_rank(xs, p):  # same method as the plugin: every figure is an observed value
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]

probe_doc = json.load(open(f'{tmp}/probe.json'))
row = next((r for r in probe_doc.get('local', []) if r.get('kind') == 'readyz'), None)
if row is None:
    sys.exit('bench-probe: error: the probe\'s JSON has no local readyz row')
srv = delta(f'{tmp}/m0.txt', f'{tmp}/m1.txt')
srv_f = delta(f'{tmp}/m2.txt', f'{tmp}/m3.txt')
if srv['count'] <= 0:
    sys.exit('bench-probe: error: the apiserver counted no GET /readyz during the probe')
srv_mean = srv['sum'] / srv['count'] * 1000
srv_f_mean = srv_f['sum'] / srv_f['count'] * 1000 if srv_f['count'] > 0 else float('nan')

forks = [tuple(l.split()) for l in open(f'{tmp}/forks.txt')]
fork_ms = [float(ms) for ms, _ in forks]
fork_fail = sum(1 for _, rc in forks if rc != '0')

ver = json.load(open(f'{tmp}/version.json'))
print('machine:    nproc %s, load avg (1m) %s' % (ncpu, open('/proc/loadavg').read().split()[0]))
print('apiserver:  %s (%s) at %s' % (ver.get('gitVersion', '?'), ver.get('platform', '?'), probe_doc.get('server', '?')))
print('probe:      readyz, %s at %s/s; reference: delta of %s{verb="GET",subresource="/readyz"}'
      % (duration, rate, srv['metric']))
print()
hdr = ('method', 'samples', 'p50 ms', 'p90 ms', 'mean ms', 'p50 vs server mean')
rows = [
    ('apiserver (server-side)', '%d' % srv['count'], fmt_bucket(p50_bucket(srv)), '-', '%.3f' % srv_mean, '1.0x (reference)'),
    ('probe (in-process)', '%d' % row['count'], '%.3f' % row['p50_ms'], '%.3f' % row['p90_ms'], '%.3f' % row['mean_ms'],
     '%.1fx server' % (row['p50_ms'] / srv_mean)),
    ('kubectl fork (old)', '%d' % len(fork_ms), '%.3f' % nearest_rank(fork_ms, 50), '%.3f' % nearest_rank(fork_ms, 90),
     '%.3f' % (sum(fork_ms) / len(fork_ms)), '%.1fx server' % (nearest_rank(fork_ms, 50) / srv_mean)),
]
w = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
for r in [hdr] + rows:
    print('  '.join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(r)).rstrip())
print()
print('notes:')
print('  - server-side p50 is the histogram bucket holding the median (ms); the server mean is exact (sum/count).')
other = srv['count'] - row['count']
print('  - during the probe the apiserver counted %d GET /readyz, the probe sent %d (%s%d from other clients; nothing subtracted).'
      % (srv['count'], row['count'], '+' if other >= 0 else '', other))
if row.get('errors'):
    print('  - the probe reported %d failed readyz sample(s).' % row['errors'])
print('  - forks: the apiserver counted %d GET /readyz (mean %.3f ms server-side) for %d kubectl processes%s.'
      % (srv_f['count'], srv_f_mean, len(fork_ms), ', %d exited non-zero' % fork_fail if fork_fail else ''))
plug = next((s for s in probe_doc.get('serverSide', []) or [] if s.get('subresource') == '/readyz' and s.get('verb') == 'GET'), None)
if plug:
    print('  - the plugin\'s own server-side readyz row: count %s, p50 %s ms (bucket %s, metric %s).'
          % (plug.get('count'), plug.get('p50_ms'), plug.get('p50_bucket'), plug.get('metric')))
EOF
