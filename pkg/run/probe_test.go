package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// probe --output-dir writes report.html from the probe's result: one phase, outcome "measured", both sources.
func TestProbeReportHTML(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r := newProbeRunner(ProbeConfig{Probe: probe.Config{Kinds: []probe.Kind{probe.KindReadyz}, Interval: time.Second}, Duration: 10 * time.Second,
		ProbeFrom: "both", OutputDir: dir}, Env{Session: &Session{RestConfig: &rest.Config{Host: "https://10.0.0.1:6443"}, RunID: "p1"}}, version.Info{})
	if err := r.openSamples(); err != nil {
		t.Fatal(err)
	}
	defer r.jsonl.Close()
	for n := range 10 {
		for _, src := range []string{probe.SourceLocal, probe.SourceCluster} {
			r.sink(probe.Sample{TS: start.Add(time.Duration(n) * time.Second), Kind: probe.KindReadyz,
				Verb: "get", LatencyMS: float64(1 + n), Status: 200, Seq: int64(n + 1), Source: src})
		}
	}
	if err := r.endProbe(result.Phase{Name: ProbePhase, Type: result.PhaseTypeProbe, Start: start, Status: result.StatusPass}, "both"); err != nil {
		t.Fatal(err)
	}
	r.finishProbe()
	if err := r.writeDocs(result.RunFile, result.ProbeStatsFile, result.ReportFile); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"<title>kubectl pyrometer probe p1</title>", ">measured<", "probe@cluster", "readyz"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "probe-stats.csv"))
	if !strings.Contains(string(csv), "\nprobe@cluster,") {
		t.Errorf("probe-stats.csv lacks the in-cluster rows:\n%s", csv)
	}
	// run.json: the run document of a probe, which report and compare read
	if _, err := os.Stat(filepath.Join(dir, "probe.json")); err == nil {
		t.Error("probe.json written: run.json is the probe's document")
	}
	doc, err := result.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Command != "probe" || len(doc.Phases) != 1 || doc.Phases[0].Name != "probe" || doc.Outcome.Result != result.ResultMeasured || len(doc.Verdicts) != 0 {
		t.Errorf("run.json of a probe: %+v", doc)
	}
	// every sample is the probe's, the in-cluster ones too (as they come: their window is the whole probe)
	if got := r.res.Phases[0].End; !got.Equal(start.Add(9 * time.Second)) {
		t.Errorf("the phase ends with its last sample: %v", got)
	}
	lines, _ := os.ReadFile(filepath.Join(dir, "probe.jsonl"))
	if n := strings.Count(string(lines), `"phase":"probe"`); n != 20 {
		t.Errorf("probe.jsonl: %d samples of phase probe, want 20", n)
	}
}

// A probe that took no samples fails; with the local probe, local samples are required.
func TestProbeNoSamples(t *testing.T) {
	env := Env{Session: &Session{RestConfig: &rest.Config{Host: "h"}, RunID: "p2"}}
	ph := result.Phase{Name: ProbePhase, Start: time.Now()}
	r := newProbeRunner(ProbeConfig{ProbeFrom: "both"}, env, version.Info{})
	if err := r.endProbe(ph, "both"); err == nil || err.Error() != "no samples were taken" {
		t.Errorf("no samples: %v", err)
	}
	r.sink(probe.Sample{TS: time.Now(), Kind: probe.KindReadyz, LatencyMS: 1, Source: probe.SourceCluster})
	if err := r.endProbe(ph, "both"); err == nil {
		t.Error("--probe-from both without local samples must fail")
	}
	if err := r.endProbe(ph, "cluster"); err != nil {
		t.Errorf("--probe-from cluster with in-cluster samples: %v", err)
	}
}

// The final cleanup's ownership rules (cleanupOwned): the namespaces this process created always, what else carries
// the run id only when searchAll (a run; a probe that started the in-cluster probe), nothing when nothing was created.
func TestCleanupOwned(t *testing.T) {
	ctx := context.Background()
	id := "abcd1234"
	setup := func(searchAll bool) (*Runner, *fake.Clientset) {
		kube := fake.NewClientset(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "pyrometer-probe-" + id, Labels: cluster.Labels(id, "probe")}})
		r := newProbeRunner(ProbeConfig{}, Env{Session: &Session{RestConfig: &rest.Config{Host: "h"}, Client: kube, RunID: id}}, version.Info{})
		r.cfg.TeardownTimeout = 5 * time.Second
		r.searchAll = searchAll
		return r, kube
	}
	gone := func(kube *fake.Clientset, ns string) bool {
		_, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return err != nil
	}
	roleLeft := func(kube *fake.Clientset) bool {
		_, err := kube.RbacV1().ClusterRoles().Get(ctx, "pyrometer-probe-"+id, metav1.GetOptions{})
		return err == nil
	}

	// nothing created: nothing deleted, even what carries the run id
	r, kube := setup(true)
	if objs, err := r.cleanupOwned(nil); err != nil || len(objs) != 0 || !roleLeft(kube) {
		t.Errorf("nothing created: %v %v, role left %v", objs, err, roleLeft(kube))
	}

	// local probe: its namespace only
	r, kube = setup(false)
	if err := r.createNamespace(ctx, r.probeNS, "probe"); err != nil {
		t.Fatal(err)
	}
	if objs, err := r.cleanupOwned(nil); err != nil || len(objs) != 1 || !gone(kube, r.probeNS) || !roleLeft(kube) {
		t.Errorf("own namespace only: %v %v, role left %v", objs, err, roleLeft(kube))
	}

	// searchAll: the namespace and the RBAC; also when this identity may not list namespaces
	for _, listNS := range []bool{true, false} {
		r, kube = setup(true)
		if err := r.createNamespace(ctx, r.probeNS, "probe"); err != nil {
			t.Fatal(err)
		}
		if !listNS {
			kube.PrependReactor("list", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "", errors.New("no"))
			})
		}
		var notes []string
		objs, err := r.cleanupOwned(func(n string) { notes = append(notes, n) })
		if err != nil || len(objs) != 2 || !gone(kube, r.probeNS) || roleLeft(kube) {
			t.Errorf("list namespaces %v: %v %v, namespace gone %v, role left %v", listNS, objs, err, gone(kube, r.probeNS), roleLeft(kube))
		}
		if !listNS && (len(notes) != 1 || !strings.Contains(notes[0], "namespaces")) {
			t.Errorf("a kind that cannot be listed is noted: %v", notes)
		}
	}
}
