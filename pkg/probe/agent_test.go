package probe

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Outside a pod the agent takes the fallback config; when there is none it fails with one line and writes nothing.
func TestRunAgentWithoutConfig(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	var out, errOut bytes.Buffer
	err := RunAgent(context.Background(), Config{Kinds: []Kind{KindReadyz}, Interval: time.Second, RequestTimeout: time.Second, Namespace: "ns"},
		time.Second, func() (*rest.Config, error) { return nil, errors.New("no kubeconfig") }, &out, &errOut)
	if err == nil || err.Error() != "failed to load the in-cluster config: no kubeconfig" {
		t.Errorf("got %v", err)
	}
	if out.Len() != 0 || errOut.Len() != 0 {
		t.Errorf("nothing may be written: %q %q", out.String(), errOut.String())
	}
}
