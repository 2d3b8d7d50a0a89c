//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// kneeDoc is what the knee tests read of the document `knee -o json` prints (run.json).
type kneeDoc struct {
	Command string
	RunID   string `json:"runID"`
	Knee    struct {
		Status      string
		Knee        float64
		Sustainable float64
		FailedAt    float64 `json:"failed_at"`
		Criterion   string
		Summary     string
		Steps       []struct {
			N             int
			Phase         string
			Rate          float64
			RequestedRate float64 `json:"requested_rate"`
			DeliveredRate float64 `json:"delivered_rate"`
			Verdict       struct {
				Verdict, Criterion string
				Reasons            []string
			}
		}
	}
	Phases  []struct{ Name, Type, Status string }
	Stats   []struct{ Phase, Kind string }
	Outcome struct {
		Result   string
		ExitCode int `json:"exit_code"`
	}
}

// The identity the knee tests search as (--as): not system:masters, so API Priority and Fairness classifies it, into
// the priority level the test gives it (kneeLevel).
const kneeUser = "pyrometer-e2e-knee"

// kneeReference is the knee TestKneeFindsAKnee found: the APF test's search must find a lower one, and compares its
// directory with kneeReferenceDir (a copy of the reference's run.json and probe.jsonl that outlives its test).
var (
	kneeReference    float64
	kneeReferenceDir string
)

// keepKneeDir copies the run.json and probe.jsonl of dir into a directory that outlives the test (removed by
// TestKneeLowerWithTighterAPF) and returns it.
func keepKneeDir(t *testing.T, dir string) string {
	t.Helper()
	keep, err := os.MkdirTemp("", "pyrometer-e2e-knee-reference-")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"run.json", "probe.jsonl"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err == nil {
			err = os.WriteFile(filepath.Join(keep, f), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return keep
}

// The server capacity the knee tests search is set by API Priority and Fairness, not left to the machine: how many
// configmap writes/s a 2-core machine's apiserver sustains on its own depends on everything else it runs (about 550
// when quiet, under 200 when busy; 800 and more on a quiet CI machine, where a search capped at 800 found no knee).
// The test's identity gets a priority level of its own, a queue of one and nothing lent or borrowed, so that a burst
// beyond its seats is answered 429 (and waits, retried): the knee is where the 429s pass their ceiling (1%) or the
// retried writes their SLO, well below what the machine can do. TestKneeFindsAKnee gives it 4 shares (10 of the
// server's 600 seats: knee 283 writes/s on this machine, the search failing at 400 with 4% 429s);
// TestKneeLowerWithTighterAPF 1 share (3 seats: knee 100, or below the start rate).
const (
	kneeReferenceShares = 4
	kneeTightShares     = 1
)

// Steps of 5 s, precision 50% (the grid is 100 x 2^(k/2)): at most 4 exponential steps, a bisection and a
// confirmation (two more when a confirmation fails); about 8 s a step.
var kneeArgs = []string{"knee", "--start-rate", "100", "--max-rate", "800", "--step-duration", "5s", "--baseline", "4s", "--precision", "50%", "-o", "json"}

// kneeLevel gives kneeUser a priority level of its own with the given nominal concurrency shares (a queue of one,
// nothing lent or borrowed) through a FlowSchema matching every request of that user, waits until the apiserver's
// APF controller has taken the FlowSchema in (its Dangling condition is set), and removes both when the test ends.
// The apiserver is not restarted.
func kneeLevel(t *testing.T, shares int32) {
	t.Helper()
	c := adminClient(t)
	ctx := context.Background()
	labels := map[string]string{"kubepyrometer.io/e2e": "knee-apf"}
	name := fmt.Sprintf("pyrometer-e2e-knee-%d-shares", shares)
	pl := &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To(shares),
				LendablePercent: ptr.To[int32](0), BorrowingLimitPercent: ptr.To[int32](0),
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue,
					Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 1, HandSize: 1, QueueLengthLimit: 1}}}}}
	fs := &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: flowcontrolv1.FlowSchemaSpec{PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: name},
			MatchingPrecedence: 500,
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects:         []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: kneeUser}}},
				ResourceRules:    []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, ClusterScope: true, Namespaces: []string{"*"}}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
			}}}}
	if _, err := c.FlowcontrolV1().PriorityLevelConfigurations().Create(ctx, pl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.FlowcontrolV1().PriorityLevelConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	if _, err := c.FlowcontrolV1().FlowSchemas().Create(ctx, fs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.FlowcontrolV1().FlowSchemas().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := c.FlowcontrolV1().FlowSchemas().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			for _, cond := range got.Status.Conditions {
				if cond.Type == flowcontrolv1.FlowSchemaConditionDangling && cond.Status == flowcontrolv1.ConditionFalse {
					time.Sleep(time.Second) // the filter's configuration is swapped in right after the status write
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the apiserver did not take FlowSchema %s in within 30s (last error %v)", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func runKnee(t *testing.T) (kneeDoc, string) {
	t.Helper()
	bindUser(t, "pyrometer-e2e-knee", kneeUser, []rbacv1.PolicyRule{
		{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
		{NonResourceURLs: []string{"*"}, Verbs: []string{"*"}},
	})
	dir := filepath.Join(t.TempDir(), "out")
	start := time.Now()
	r := plugin(t, 150*time.Second, append([]string{"--as", kneeUser}, append(kneeArgs, "--output-dir", dir)...)...)
	t.Logf("knee took %v\n%s", time.Since(start).Round(time.Second), r.stderr)
	var d kneeDoc
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("knee -o json: %v (exit %d)\nstdout:\n%s", err, r.code, r.stdout)
	}
	if d.RunID == "" {
		t.Fatal("no run id in the knee document")
	}
	assertNothingLabelled(t, d.RunID)
	return d, dir
}

// TestKneeFindsAKnee: a knee search with 5 s steps against a priority level of 10 seats (kneeLevel) finishes, finds a
// knee below --max-rate, the steps' requested rates grow with the rate asked for, the failure above the knee is
// named, nothing is left behind, and report, report.html and bundle work on the directory.
func TestKneeFindsAKnee(t *testing.T) {
	kneeLevel(t, kneeReferenceShares)
	d, dir := runKnee(t)
	k := d.Knee
	if d.Command != "knee" || d.Outcome.ExitCode != 0 || (k.Status != "found" && k.Status != "unconfirmed") {
		t.Fatalf("command %q exit %d status %q: %s", d.Command, d.Outcome.ExitCode, k.Status, k.Summary)
	}
	if k.Knee <= 0 || k.Knee >= 800 || k.Sustainable != roundTo3(0.8*k.Knee) || k.FailedAt <= k.Knee || k.Criterion == "" {
		t.Errorf("knee %v sustainable %v failed at %v by %q: %s", k.Knee, k.Sustainable, k.FailedAt, k.Criterion, k.Summary)
	}
	assertKneeSteps(t, d)
	kneeReference, kneeReferenceDir = k.Knee, keepKneeDir(t, dir)

	// report (table), report.html and bundle read the knee directory
	rep := plugin(t, 30*time.Second, "report", dir)
	if rep.code != 0 || !strings.Contains(rep.stdout, "KNEE") || !strings.Contains(rep.stdout, "knee-step") && !strings.Contains(rep.stdout, "exponential") {
		t.Errorf("report of a knee directory: exit %d\n%s%s", rep.code, rep.stdout, rep.stderr)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !strings.Contains(string(html), "latency vs write rate") || !strings.Contains(string(html), "knee ") {
		t.Errorf("report.html has no latency-vs-rate curve with the knee marked (%v)", err)
	}
	if b := plugin(t, 30*time.Second, "bundle", dir); b.code != 0 {
		t.Errorf("bundle of a knee directory: exit %d: %s", b.code, b.stderr)
	}
}

// assertKneeSteps: every step is in run.json as a phase whose status is the step's verdict, the steps' requested
// rates grow with the rate asked for (the mean per distinct rate), and no step goes above --max-rate.
func assertKneeSteps(t *testing.T, d kneeDoc) {
	t.Helper()
	k := d.Knee
	if len(k.Steps) < 2 {
		t.Fatalf("%d steps: %s", len(k.Steps), k.Summary)
	}
	byRate := map[float64][]float64{}
	for _, st := range k.Steps {
		if st.Rate > 800 {
			t.Errorf("step %d at %v writes/s, above --max-rate", st.N, st.Rate)
		}
		byRate[st.Rate] = append(byRate[st.Rate], st.RequestedRate)
	}
	var rates []float64
	for r := range byRate {
		rates = append(rates, r)
	}
	sort.Float64s(rates)
	prev := 0.0
	for _, r := range rates {
		sum := 0.0
		for _, v := range byRate[r] {
			sum += v
		}
		mean := sum / float64(len(byRate[r]))
		if mean <= prev {
			t.Errorf("requested rate not monotonic in the rate asked for: %v writes/s requested %.1f/s, not above the step below (%.1f/s)", r, mean, prev)
		}
		prev = mean
	}
	phases := map[string]string{} // name: status
	for _, p := range d.Phases {
		phases[p.Name] = p.Status
	}
	for _, st := range k.Steps { // the step's phase says what the step showed: its verdict, not only that it ran
		if status, ok := phases["knee-step-"+itoa(st.N)]; !ok {
			t.Errorf("step %d has no phase knee-step-%d in run.json", st.N, st.N)
		} else if status != st.Verdict.Verdict {
			t.Errorf("phase knee-step-%d has status %q, the step's verdict is %q", st.N, status, st.Verdict.Verdict)
		}
	}
	if _, ok := phases["baseline"]; !ok {
		t.Error("no baseline phase")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// roundTo3 is the knee's rounding of a rate: 3 significant digits from 100, 0.1 below.
func roundTo3(r float64) float64 {
	switch {
	case r >= 100:
		return float64(int(r + 0.5)) // 3 digits: the rates here stay below 1000
	}
	return float64(int(r*10+0.5)) / 10
}

// TestKneeLowerWithTighterAPF: the same search, with API Priority and Fairness giving the test's identity fewer
// seats (1 share: 3 of the server's 600, against TestKneeFindsAKnee's 10), finds a lower knee: the method responds to
// the server's real capacity. The apiserver is not restarted; the FlowSchema and priority level are removed when the
// test ends.
func TestKneeLowerWithTighterAPF(t *testing.T) {
	if kneeReference <= 0 { // run alone: search the reference knee first, with the reference priority level
		t.Run("reference", func(t *testing.T) {
			kneeLevel(t, kneeReferenceShares)
			ref, refDir := runKnee(t)
			if ref.Knee.Knee <= 0 {
				t.Fatalf("no reference knee with %d shares: %s: %s", kneeReferenceShares, ref.Knee.Status, ref.Knee.Summary)
			}
			kneeReference, kneeReferenceDir = ref.Knee.Knee, keepKneeDir(t, refDir)
		})
		if kneeReference <= 0 {
			t.FailNow()
		}
	}
	t.Cleanup(func() { _ = os.RemoveAll(kneeReferenceDir) })
	kneeLevel(t, kneeTightShares)
	d, dir := runKnee(t)
	k := d.Knee
	t.Logf("knee %v with %d share(s), %v with %d: %s", k.Knee, kneeTightShares, kneeReference, kneeReferenceShares, k.Summary)
	switch k.Status {
	case "found", "unconfirmed":
		if k.Knee <= 0 || k.Knee >= kneeReference {
			t.Errorf("knee %v with %d share(s), not below %v with %d", k.Knee, kneeTightShares, kneeReference, kneeReferenceShares)
		}
		assertKneeSteps(t, d)
		assertKneeCompare(t, kneeReferenceDir, dir, kneeReference, k.Knee)
	case "below-start": // even --start-rate failed: a knee below 100 writes/s, lower still
		if d.Outcome.ExitCode != 2 {
			t.Errorf("below-start exits 2, got %d", d.Outcome.ExitCode)
		}
		assertKneeCompare(t, kneeReferenceDir, dir, kneeReference, 0)
	default:
		t.Fatalf("status %q exit %d: %s", k.Status, d.Outcome.ExitCode, k.Summary)
	}
}

// assertKneeCompare: `compare` of two knee directories matches their steps by rate (every row a knee@RATE/s or
// cooldown@RATE/s or the baseline, never knee-step-N), and compares the two knees.
func assertKneeCompare(t *testing.T, dirA, dirB string, kneeA, kneeB float64) {
	t.Helper()
	r := plugin(t, time.Minute, "compare", dirA, dirB, "-o", "json")
	var rep struct {
		Rows []struct{ Phase string }
		Knee *struct {
			A, B      struct{ Knee float64 }
			ChangePct *float64
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("compare -o json of two knee directories: %v (exit %d)\n%s%s", err, r.code, r.stdout, r.stderr)
	}
	atRate := 0
	for _, row := range rep.Rows {
		switch {
		case strings.HasPrefix(row.Phase, "knee@"):
			atRate++
		case row.Phase != "baseline" && !strings.HasPrefix(row.Phase, "cooldown@"):
			t.Errorf("compare row of phase %q: knee steps are matched by rate (knee@RATE/s)", row.Phase)
		}
	}
	if atRate == 0 { // both searches start at --start-rate: that rate at least is in both
		t.Errorf("compare has no knee@RATE/s row: %+v", rep.Rows)
	}
	if rep.Knee == nil || rep.Knee.A.Knee != kneeA || rep.Knee.B.Knee != kneeB || rep.Knee.ChangePct == nil {
		t.Errorf("compare's knee: %+v, want A %v and B %v", rep.Knee, kneeA, kneeB)
	}
	if tbl := plugin(t, time.Minute, "compare", dirA, dirB); !strings.Contains(tbl.stdout, "Knee: A ") {
		t.Errorf("compare table without the knees' line:\n%s", tbl.stdout)
	}
}

// TestKneeSigintTearsDown: Ctrl-C during a knee step stops the load (no object created, no engine write more than
// 1 s after it), tears everything down like run, writes the artifacts (the search interrupted, no knee) and exits 1.
func TestKneeSigintTearsDown(t *testing.T) {
	id := runID(t)
	dir := t.TempDir()
	cw := watchCreations(t, id)
	in := interruptLoaded(t, dir, time.Minute, time.Minute, func() bool { return cw.countPrefix("ConfigMap", "pyrometer-churn-") >= 30 },
		"the knee's first step", "knee", "--start-rate", "30", "--max-rate", "100", "--step-duration", "2m", "--baseline", "2s",
		"--run-id", id, "--output-dir", "out")
	if in.code != 1 {
		t.Errorf("an interrupted knee exits 1, got %d\n%s", in.code, in.stderr.String())
	}
	assertQuietAfter(t, cw, dir, in.sigint, time.Second, 5*time.Second)
	b, err := os.ReadFile(filepath.Join(dir, "out", "run.json"))
	var d kneeDoc
	if err == nil {
		err = json.Unmarshal(b, &d)
	}
	if err != nil || d.Knee.Status != "interrupted" || d.Knee.Knee != 0 || d.Outcome.ExitCode != 1 {
		t.Errorf("run.json after SIGINT: %v: status %q knee %v exit %d", err, d.Knee.Status, d.Knee.Knee, d.Outcome.ExitCode)
	}
	assertNothingLabelled(t, id)
	t.Logf("exited %v after SIGINT", in.exited.Round(100*time.Millisecond))
}
