package result

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// Save then Load gives the document back, with probe.jsonl as its sample source.
func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	doc := &Doc{Command: CommandProbe, Version: version.Info{Version: "v0.1.0"}, RunID: "r1", Start: start, End: start.Add(time.Second),
		Flags:  map[string]string{"duration": "1s"},
		Safety: []byte(`{"steps":2}`), Phases: []Phase{{Name: "probe", Type: PhaseTypeProbe, Start: start, End: start.Add(time.Second), Status: StatusPass}},
		Stats: []probe.Stats{{Phase: "probe", Kind: "readyz", Count: 1}}, Outcome: Outcome{Result: ResultMeasured}, OutputDir: dir}
	if err := doc.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var safety bytes.Buffer // read back indented, as run.json holds it
	if err := json.Compact(&safety, got.Safety); err != nil {
		t.Fatal(err)
	}
	got.Safety = safety.Bytes()
	if got.Samples != nil {
		t.Errorf("Samples = %v without probe.jsonl, want nil", got.Samples)
	}
	if !reflect.DeepEqual(got, doc) {
		t.Errorf("Load = %+v\nwant %+v", got, doc)
	}
	if got.CommandName() != CommandProbe || (&Doc{}).CommandName() != CommandRun {
		t.Errorf("CommandName: %q and %q for a run", got.CommandName(), (&Doc{}).CommandName())
	}
	if err := AppendJSONL(filepath.Join(dir, SamplesFile), probe.Sample{TS: start, Kind: probe.KindReadyz}); err != nil {
		t.Fatal(err)
	}
	if got, err = Load(dir); err != nil || got.Samples == nil {
		t.Fatalf("Load with probe.jsonl: %v, samples %v", err, got.Samples)
	}
	n := 0
	if err := got.Samples.Each(func(probe.Sample) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("samples: %d, %v; want 1", n, err)
	}
}

// Load's errors are one line naming run.json; a directory of an older probe (probe.json only) says so.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty directory", nil, "no such file or directory (is "},
		{"malformed", map[string]string{RunFile: "{not json"}, ": malformed JSON: "},
		{"older probe", map[string]string{LegacyProbeFile: "{}", SamplesFile: ""}, "holds the probe.json of an older version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "failed to read "+filepath.Join(dir, RunFile)+": ") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming run.json and %q", msg, tc.want)
			}
		})
	}
}

// RawJSON leaves nothing (an omitted field) for nil, and encodes anything else.
func TestRawJSON(t *testing.T) {
	var nilPtr *Cost
	for _, v := range []any{nil, nilPtr} {
		if b, err := RawJSON(v); err != nil || b != nil {
			t.Errorf("RawJSON(%#v) = %s, %v; want nil", v, b, err)
		}
	}
	if b, err := RawJSON(Cost{Pods: 1}); err != nil || !strings.Contains(string(b), `"pods":1`) {
		t.Errorf("RawJSON = %s, %v", b, err)
	}
	if _, err := RawJSON(func() {}); err == nil {
		t.Error("RawJSON of a func: want an error")
	}
}
