package run

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestSession(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"34","gitVersion":"v1.34.4"}`))
	}))
	defer srv.Close()
	loaded := &rest.Config{Host: srv.URL, Timeout: 7 * time.Second}
	s, err := NewSession(loaded, "abcd1234")
	if err != nil {
		t.Fatal(err)
	}
	if s.RestConfig.Timeout != 0 || loaded.Timeout != 7*time.Second {
		t.Errorf("the session's config has no global timeout (it would cut the watch), the loaded one is untouched: %v, %v", s.RestConfig.Timeout, loaded.Timeout)
	}
	if s.Client == nil || s.ProbeClient == nil || s.ProbeRC == nil || s.Dynamic == nil || s.RunID != "abcd1234" || s.Owner != "" {
		t.Errorf("incomplete session: %+v", s)
	}
	if s.ProbeNamespace() != "pyrometer-abcd1234" {
		t.Errorf("probe namespace %q", s.ProbeNamespace())
	}
	if err := s.Reachable(context.Background(), time.Second); err != nil {
		t.Errorf("reachable: %v", err)
	}
	bulk, _, err := s.Bulk()
	if err != nil {
		t.Fatal(err)
	}
	if qps := bulk.(*kubernetes.Clientset).CoreV1().RESTClient().GetRateLimiter().QPS(); qps != 50 {
		t.Errorf("bulk client QPS %v, want 50", qps)
	}
	srv.Close()
	err = s.Reachable(context.Background(), time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "failed to reach the server at "+srv.URL+": ") {
		t.Errorf("unreachable: %v", err)
	}
}
