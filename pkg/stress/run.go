package stress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/kube-burner/kube-burner/v2/pkg/burner"
	"github.com/kube-burner/kube-burner/v2/pkg/config"
	"github.com/kube-burner/kube-burner/v2/pkg/util/metrics"
	"github.com/sirupsen/logrus"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Runner runs kube-burner specs, one at a time (kube-burner keeps global state), against the cluster of a
// rest.Config. kube-burner's logs go to the writer given to NewRunner, never to stdout.
type Runner struct {
	kcp *config.KubeClientProvider
	mu  sync.Mutex
}

// Result is the outcome of one kube-burner run, timed and counted by us (kube-burner's own elapsed time has
// whole-second resolution and it does not count failed creations).
type Result struct {
	RC        int           `json:"rc"` // kube-burner's: 0 ok, 1 job errors, 2 timeout, ...
	Elapsed   time.Duration `json:"elapsed"`
	ErrorLogs int           `json:"errorLogs"` // error-level log lines (failed creations are logged, then retried)
	LastError string        `json:"lastError,omitempty"`
}

// logging state shared by every Runner: logrus is global in kube-burner.
var (
	logOnce sync.Once
	hook    = &errorHook{}
)

// errorHook counts kube-burner's error logs and turns its fatal-level logs into an error of the current run: the
// logger's ExitFunc ends only the goroutine that called Fatal (runtime.Goexit), so deferred cleanup still runs
// and the process never exits from inside kube-burner.
type errorHook struct {
	mu     sync.Mutex
	errors int
	last   string
	fatal  chan string
}

func (h *errorHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel}
}

func (h *errorHook) Fire(e *logrus.Entry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errors++
	h.last = e.Message
	if e.Level == logrus.FatalLevel && h.fatal != nil {
		select {
		case h.fatal <- e.Message:
		default:
		}
	}
	return nil
}

func (h *errorHook) reset() (fatal chan string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errors, h.last = 0, ""
	h.fatal = make(chan string, 1)
	return h.fatal
}

func (h *errorHook) counts() (int, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.errors, h.last
}

// setupLogging points kube-burner's logger at w (once per process).
func setupLogging(w io.Writer) {
	logOnce.Do(func() {
		l := logrus.StandardLogger()
		l.SetOutput(w)
		l.SetLevel(logrus.InfoLevel)
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, DisableColors: true})
		l.AddHook(hook)
		l.ExitFunc = func(int) { runtime.Goexit() }
	})
}

// NewRunner connects kube-burner to the cluster of cfg. kube-burner only takes a kubeconfig path and a context,
// so cfg (with every --context/--as/--token/--server override already applied) is written to a private 0600
// kubeconfig that is removed as soon as kube-burner has read it. The caller must have checked that the server
// answers: kube-burner's constructor exits the process otherwise.
func NewRunner(cfg *rest.Config, logs io.Writer) (*Runner, error) {
	setupLogging(logs)
	dir, err := os.MkdirTemp("", "pyrometer-kubeconfig-")
	if err != nil {
		return nil, fmt.Errorf("failed to create a private directory for kube-burner's kubeconfig: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(cfg, path); err != nil {
		return nil, err
	}
	var kcp *config.KubeClientProvider
	fatal := hook.reset()
	done := make(chan struct{})
	go func() {
		defer close(done)
		kcp = config.NewKubeClientProvider(path, "pyrometer")
	}()
	select {
	case <-done:
	case msg := <-fatal:
		return nil, fmt.Errorf("kube-burner could not connect: %s", msg)
	}
	if kcp == nil {
		_, last := hook.counts()
		return nil, fmt.Errorf("kube-burner could not connect: %s", last)
	}
	return &Runner{kcp: kcp}, nil
}

// writeKubeconfig flattens cfg into a kubeconfig file (mode 0600) with one context named "pyrometer".
func writeKubeconfig(cfg *rest.Config, path string) error {
	cluster := &clientcmdapi.Cluster{Server: cfg.Host, InsecureSkipTLSVerify: cfg.Insecure, TLSServerName: cfg.ServerName,
		CertificateAuthorityData: cfg.CAData, CertificateAuthority: cfg.CAFile, ProxyURL: ""}
	if cfg.APIPath != "" && cfg.APIPath != "/api" {
		return fmt.Errorf("unsupported API path %q for kube-burner", cfg.APIPath)
	}
	auth := &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientCertificate: cfg.CertFile,
		ClientKeyData: cfg.KeyData, ClientKey: cfg.KeyFile,
		Token: cfg.BearerToken, TokenFile: cfg.BearerTokenFile,
		Username: cfg.Username, Password: cfg.Password,
		Impersonate: cfg.Impersonate.UserName, ImpersonateUID: cfg.Impersonate.UID,
		ImpersonateGroups: cfg.Impersonate.Groups, ImpersonateUserExtra: cfg.Impersonate.Extra,
		Exec: cfg.ExecProvider, AuthProvider: cfg.AuthProvider,
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["pyrometer"] = cluster
	kc.AuthInfos["pyrometer"] = auth
	kc.Contexts["pyrometer"] = &clientcmdapi.Context{Cluster: "pyrometer", AuthInfo: "pyrometer"}
	kc.CurrentContext = "pyrometer"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		return fmt.Errorf("failed to encode kube-burner's kubeconfig: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("failed to write kube-burner's kubeconfig: %w", err)
	}
	return nil
}

// ErrAbandoned is returned when ctx ended before kube-burner finished: its goroutines may still create objects
// for a moment, so the caller deletes by label until nothing is left.
var ErrAbandoned = errors.New("kube-burner abandoned")

// Run runs spec and waits for it, for ctx, or for a kube-burner fatal error, whichever comes first.
func (r *Runner) Run(ctx context.Context, spec config.Spec) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fatal := hook.reset()
	start := time.Now()
	type out struct {
		rc  int
		err error
	}
	ch := make(chan out, 1)
	go func() {
		rc, err := burner.Run(spec, r.kcp, metrics.Scraper{}, nil, nil)
		ch <- out{rc, err}
	}()
	res := Result{}
	var err error
	select {
	case o := <-ch:
		res.RC = o.rc
		if o.err != nil {
			err = fmt.Errorf("kube-burner: %w", o.err)
		}
	case msg := <-fatal:
		res.RC = -1
		err = fmt.Errorf("kube-burner failed: %s", msg)
	case <-ctx.Done():
		res.RC = -1
		err = fmt.Errorf("%w: %w", ErrAbandoned, ctx.Err())
	}
	res.Elapsed = time.Since(start)
	res.ErrorLogs, res.LastError = hook.counts()
	res.LastError = strings.TrimSpace(res.LastError)
	if err == nil && res.RC != 0 {
		err = fmt.Errorf("kube-burner exited with rc %d: %s", res.RC, res.LastError)
	}
	return res, err
}
