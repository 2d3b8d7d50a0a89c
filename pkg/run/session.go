package run

import (
	"context"
	"fmt"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// Session is the connection to the cluster that every command shares (run, plan, probe, cleanup, and the prompts of
// run -i): the REST config and clients, and the identity of the run the command makes: its id and the user creating
// its objects (recorded on them).
//
// It lives here, not in pkg/cluster, because it holds the probe's dedicated client (pkg/probe's transport), and
// pkg/cluster stays a leaf about labels, names and cleanup that pkg/probe and pkg/safety may import.
type Session struct {
	RestConfig  *rest.Config         // per-request contexts bound every call: no global timeout (it would cut the watch)
	Client      kubernetes.Interface // ordinary client for setup, teardown, events
	ProbeClient kubernetes.Interface // dedicated: own transport, no client-side rate limit (probe.DedicatedConfig)
	ProbeRC     rest.Interface       // the probe client's REST client (readyz, /metrics)
	Dynamic     dynamic.Interface    // kinds beyond the built-in ones (what templates create)
	RunID       string
	Owner       string // the identity creating the run's objects (Identify); "" when unknown

	loaded *rest.Config // as the kubeconfig and flags gave it (with --request-timeout's global timeout)
}

// Connect builds the clients for the cluster getter's kubeconfig points at, for run runID. It does no I/O.
func Connect(getter genericclioptions.RESTClientGetter, runID string) (*Session, error) {
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	return NewSession(cfg, runID)
}

// NewSession builds the clients for cfg, for run runID. It does no I/O.
func NewSession(loaded *rest.Config, runID string) (*Session, error) {
	cfg := rest.CopyConfig(loaded)
	cfg.Timeout = 0 // per-request contexts bound every call; a global timeout would cut the watch
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for %s: %w", cfg.Host, err)
	}
	pc, err := kubernetes.NewForConfig(probe.DedicatedConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("failed to create the probe client for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for %s: %w", cfg.Host, err)
	}
	return &Session{RestConfig: cfg, Client: client, ProbeClient: pc, ProbeRC: pc.Discovery().RESTClient(), Dynamic: dyn, RunID: runID,
		loaded: loaded}, nil
}

// Reachable fails with one clear line when the server does not answer within timeout.
func (s *Session) Reachable(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.Client.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return fmt.Errorf("failed to reach the server at %s: %w", s.RestConfig.Host, err)
	}
	return nil
}

// Identify records who creates the run's objects (cluster.WhoAmI): the owner annotation of what it creates.
func (s *Session) Identify(ctx context.Context) {
	s.Owner = cluster.WhoAmI(ctx, s.Client)
}

// ProbeNamespace is the namespace of the session's run's probe objects.
func (s *Session) ProbeNamespace() string { return cluster.ProbeNamespace(s.RunID) }

// Bulk returns clients for many small requests in a row (the preflight's access reviews, cleanup's one list per
// kind the server serves): client-go's default 5 QPS would stretch them over ten seconds. Deprecation warnings are
// dropped: listing every kind includes deprecated ones (v1 Endpoints), not the user's concern.
func (s *Session) Bulk() (kubernetes.Interface, dynamic.Interface, error) {
	cfg := s.loaded
	if cfg == nil {
		cfg = s.RestConfig
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create a client for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create a client for %s: %w", cfg.Host, err)
	}
	return client, dyn, nil
}
