package report

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

func TestWriteBundleTakesOnlyArtifactsAndNoCredentials(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20260101-000000-abcd1234")
	os.MkdirAll(dir, 0o755)
	files := map[string]string{
		"run.json":        `{"runID":"abcd1234"}`,
		"probe.jsonl":     `{"ts":"2026-01-01T00:00:00Z","kind":"get"}` + "\n",
		"summary.csv":     "phase,uuid\n",
		"kube-burner.log": "level=info msg=ok\n",
		"panic.txt":       "panic: boom\n\ngoroutine 1 [running]:\n",
		"kubeconfig":      "users:\n- user:\n    client-key-data: AAAA\n",
		"events.jsonl":    `{"message":"-----BEGIN RSA PRIVATE KEY-----"}` + "\n",
		"notes.txt":       "mine\n",
	}
	for n, b := range files {
		os.WriteFile(filepath.Join(dir, n), []byte(b), 0o600)
	}
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	entries, err := WriteBundle(dir, out)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(out)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name)
	}
	sort.Strings(got)
	want := "20260101-000000-abcd1234/kube-burner.log,20260101-000000-abcd1234/panic.txt,20260101-000000-abcd1234/probe.jsonl,20260101-000000-abcd1234/run.json,20260101-000000-abcd1234/summary.csv"
	if strings.Join(got, ",") != want {
		t.Errorf("bundle holds %v, want %s", got, want)
	}
	reasons := map[string]string{}
	for _, e := range entries {
		reasons[e.Name] = e.Reason
	}
	if reasons["kubeconfig"] != "not a run artifact" || reasons["notes.txt"] != "not a run artifact" || !strings.HasPrefix(reasons["events.jsonl"], "content looks like a credential") {
		t.Errorf("entries: %+v", entries)
	}
	if _, err := WriteBundle(t.TempDir(), out); err == nil || !strings.Contains(err.Error(), "is not a run directory") {
		t.Errorf("a directory without run.json: %v", err)
	}
}

// TestBundleCredentialForms: every form a credential takes in a log or JSON line keeps the file out of the bundle;
// ordinary run artifacts that merely mention tokens or passwords stay in.
func TestBundleCredentialForms(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl"
	leak := []struct{ name, line string }{
		{"json token", `{"token":"` + jwt + `"}`},
		{"json token with spaces", `{"kind": "Config", "token" : "0123456789abcdef"}`},
		{"json access_token", `{"access_token":"ya29.a0AfH6SMBx"}`},
		{"yaml token", "    token: " + jwt},
		{"yaml id-token", "        id-token: " + jwt},
		{"env token", "TOKEN=0123456789abcdef"},
		{"yaml password", "    password: hunter2"},
		{"json password", `{"username":"admin","password":"hunter2"}`},
		{"password=", "connecting with user=admin password=s3cr3t"},
		{"Bearer header", "Authorization: Bearer " + jwt},
		{"bearer lower case", `"authorization":"bearer 0123456789abcdef"`},
		{"--token=", "I1129 exec: kubectl get pods --token=0123456789abcdef"},
		{"--token value", "running kubectl --server https://x --token 0123456789abcdef"},
		{"--password=", "kubectl --username admin --password=hunter2 get nodes"},
		{"client-key-data", "    client-key-data: LS0tLS1CRUdJTg=="},
		{"client-certificate-data", `{"client-certificate-data":"LS0tLS1CRUdJTg=="}`},
		{"rsa private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"},
		{"pkcs8 private key", "-----BEGIN PRIVATE KEY-----"},
		{"ec private key", "-----BEGIN EC PRIVATE KEY-----"},
		{"openssh private key", "-----BEGIN OPENSSH PRIVATE KEY-----"},
		{"pgp private key", "-----BEGIN PGP PRIVATE KEY BLOCK-----"},
		{"docker auth", `{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNzd29yZA=="}}}`},
		{"bearer-token field", `bearer-token: x`},
	}
	clean := []struct{ name, line string }{
		{"run flags", `{"runID":"abcd1234","flags":{"probes":"all","rate":"5","max-error-rate":"0.25"}}`},
		{"unauthorized sample", `{"kind":"get","status":401,"error":"Unauthorized: invalid bearer token"}`},
		{"probe token annotation", `{"metadata":{"annotations":{"kubepyrometer.io/probe-token":"1764412345678901234-17"}}}`},
		{"empty password", `password: ""`},
		{"token word", "the watch delivered token 12 after 3ms"},
		{"short token", "token: abc"},
		{"kube-burner log", `time="2026-11-29" level=info msg="Job pyrometer-cpu: 1 iterations with 1 Deployment replicas"`},
	}
	check := func(t *testing.T, line string) BundleEntry {
		t.Helper()
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "run.json"), []byte(`{"runID":"abcd1234"}`), 0o644)
		os.WriteFile(filepath.Join(dir, "kube-burner.log"), []byte("level=info msg=start\n"+line+"\n"), 0o644)
		entries, err := WriteBundle(dir, filepath.Join(t.TempDir(), "b.tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name == "kube-burner.log" {
				return e
			}
		}
		t.Fatalf("no entry for kube-burner.log: %+v", entries)
		return BundleEntry{}
	}
	for _, tc := range leak {
		t.Run("leak/"+tc.name, func(t *testing.T) {
			if e := check(t, tc.line); e.Included || !strings.HasPrefix(e.Reason, "content looks like a credential") {
				t.Errorf("a file holding %q must be left out: %+v", tc.line, e)
			}
		})
	}
	for _, tc := range clean {
		t.Run("clean/"+tc.name, func(t *testing.T) {
			if e := check(t, tc.line); !e.Included {
				t.Errorf("a file holding only %q must be bundled: %+v", tc.line, e)
			}
		})
	}
	if got := credentialIn([]byte("Authorization: Bearer " + jwt)); got != "bearer token" {
		t.Errorf("the reason names the form: %q", got)
	}
}

// A bundle streams its files: packing a 6 MB probe.jsonl allocates far less than the file (the old WriteBundle
// read every file whole and built the archive in memory).
func TestWriteBundleStreams(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	line := `{"ts":"2026-01-01T00:00:00.123456789Z","phase":"probe","kind":"get","verb":"get","latency_ms":4.123,"lag_ms":0.012,"status":200,"seq":1,"source":"local"}` + "\n"
	body := strings.Repeat(line, 6<<20/len(line))
	if err := os.WriteFile(filepath.Join(dir, "probe.jsonl"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	body = ""
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	entries, err := WriteBundle(dir, out)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3<<20 {
		t.Errorf("WriteBundle allocated %.1f MB for a 6 MB probe.jsonl, want < 3 MB", float64(alloc)/(1<<20))
	}
	if len(entries) != 2 || !entries[0].Included || entries[0].Size < 6<<20-int64(len(line)) {
		t.Errorf("entries: %+v", entries)
	}
}
