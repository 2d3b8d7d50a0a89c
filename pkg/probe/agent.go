package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
)

// AgentPrefix is the agent's object name prefix when the in-cluster probe gives none (--name-prefix).
const AgentPrefix = cluster.ProbePrefix + "-pod"

// RunAgent is the in-cluster probe's process (the pod's `probe --emit jsonl`, see jobArgs): it probes cfg for d in
// cfg.Namespace, which exists already, with the pod's own identity, and writes every sample to out as one JSON line,
// nothing else (StartClusterProbe reads them from the pod's log). A failed teardown is said on errOut.
//
// fallback gives the REST config when the process runs outside a pod (tests): in a pod it is the ServiceAccount's,
// which kubectl's flags would not fall back to (--request-timeout makes the merged kubeconfig differ from the empty
// default).
func RunAgent(ctx context.Context, cfg Config, d time.Duration, fallback func() (*rest.Config, error), out, errOut io.Writer) error {
	rc, err := rest.InClusterConfig()
	if err != nil {
		if rc, err = fallback(); err != nil {
			return fmt.Errorf("failed to load the in-cluster config: %w", err)
		}
	}
	rc = rest.CopyConfig(rc)
	rc.Timeout = 0
	pc, err := kubernetes.NewForConfig(DedicatedConfig(rc))
	if err != nil {
		return err
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = AgentPrefix
	}
	labels := map[string]string{cluster.ManagedByLabel: cluster.ManagedBy}
	for k, v := range cfg.Labels {
		labels[k] = v
	}
	cfg.Labels, cfg.Source = labels, SourceCluster
	p, err := New(cfg, pc, pc.Discovery().RESTClient(), nil)
	if err != nil {
		return err
	}
	if err := p.Setup(ctx); err != nil {
		_ = p.Teardown(context.Background())
		return fmt.Errorf("probe setup failed: %w", err)
	}
	var mu sync.Mutex
	enc := json.NewEncoder(out)
	runErr := p.Run(ctx, "cluster", d, func(s Sample) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(s)
	})
	tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Teardown(tctx); err != nil {
		fmt.Fprintf(errOut, "probe teardown: %v\n", err)
	}
	if runErr != nil && ctx.Err() == nil {
		return runErr
	}
	return nil
}
