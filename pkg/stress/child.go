package stress

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kube-burner/kube-burner/v2/pkg/burner"
	"github.com/kube-burner/kube-burner/v2/pkg/config"
	"github.com/kube-burner/kube-burner/v2/pkg/util/metrics"
	"github.com/sirupsen/logrus"
)

// ChildCommand is the hidden subcommand of the plugin's binary that runs one kube-burner spec (ServeChild).
const ChildCommand = "__kube-burner"

// maxRequest bounds the request read from stdin.
const maxRequest = 64 << 20

// child is the state of the kube-burner process.
type child struct {
	out       io.Writer
	once      sync.Once
	mu        sync.Mutex
	errorLogs int
	lastError string
}

// Levels, Fire: a logrus hook counting kube-burner's error logs and keeping the last one.
func (c *child) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel}
}

func (c *child) Fire(e *logrus.Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errorLogs++
	c.lastError = e.Message
	return nil
}

// answer writes the result (once: a fatal log and the normal end may race).
func (c *child) answer(r childResult) {
	c.once.Do(func() {
		c.mu.Lock()
		r.ErrorLogs, r.LastError = c.errorLogs, strings.TrimSpace(c.lastError)
		c.mu.Unlock()
		_ = json.NewEncoder(c.out).Encode(r)
	})
}

// ServeChild is the kube-burner process (the plugin's binary run with ChildCommand by Runner.Run): it reads one
// request (a spec and a kubeconfig) from stdin, runs kube-burner with its logs on stderr, writes the result as JSON
// on stdout and returns the exit code. Anything kube-burner prints on stdout goes to stderr (os.Stdout is
// redirected). A fatal log of kube-burner ends the process with the message as the result. The process exits at
// once when stdin reaches EOF after the request: the plugin is gone.
func ServeChild(stdin io.Reader, stdout, stderr *os.File) int {
	os.Stdout = stderr
	c := &child{out: stdout}
	l := logrus.StandardLogger()
	l.SetOutput(stderr)
	l.SetLevel(logrus.InfoLevel)
	l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, DisableColors: true})
	l.AddHook(c)
	// The two os.Exit calls below end only this child process, on purpose: it owns nothing to clean up (the run's
	// objects are the plugin's, deleted by label there), and it must end even while burner.Run is blocked.
	l.ExitFunc = func(int) {
		c.mu.Lock()
		msg := c.lastError
		c.mu.Unlock()
		c.answer(childResult{RC: -1, Error: msg, Fatal: true})
		os.Exit(3)
	}
	req, err := readRequest(stdin)
	if err != nil {
		c.answer(childResult{RC: -1, Error: err.Error()})
		return 2
	}
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		fmt.Fprintln(stderr, "kube-burner: the plugin closed stdin (it is gone): exiting")
		os.Exit(4)
	}()
	spec, err := BuildSpec(req.Spec.Options, req.Spec.Jobs)
	if err != nil {
		c.answer(childResult{RC: -1, Error: err.Error()})
		return 2
	}
	kcp, err := clientProvider(req.Kubeconfig, spec.GlobalConfig.RequestTimeout)
	if err != nil {
		c.answer(childResult{RC: -1, Error: err.Error()})
		return 2
	}
	rc, err := burner.Run(spec, kcp, metrics.Scraper{}, nil, nil)
	r := childResult{RC: rc}
	if err != nil {
		r.Error = err.Error()
	}
	c.answer(r)
	return 0
}

func readRequest(in io.Reader) (request, error) {
	var req request
	var n uint64
	if err := binary.Read(in, binary.BigEndian, &n); err != nil {
		return req, fmt.Errorf("failed to read the request: %w", err)
	}
	if n > maxRequest {
		return req, fmt.Errorf("request too large (%d bytes)", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(in, b); err != nil {
		return req, fmt.Errorf("failed to read the request: %w", err)
	}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&req); err != nil {
		return req, fmt.Errorf("failed to decode the request: %w", err)
	}
	return req, nil
}

// clientProvider connects kube-burner with kubeconfig and makes its clients use requestTimeout. kube-burner's
// ClientSet takes the request timeout from its package-level configuration (default 60s), not from the spec it
// runs; only config.Parse sets it, so it parses a configuration holding just that. The kubeconfig is read from a
// pipe (no file) where /dev/fd exists, else from a private file removed as soon as kube-burner has read it.
func clientProvider(kubeconfig []byte, requestTimeout time.Duration) (*config.KubeClientProvider, error) {
	if _, err := config.Parse("pyrometer", time.Hour, strings.NewReader(fmt.Sprintf("global:\n  requestTimeout: %s\njobs: []\n", requestTimeout))); err != nil {
		return nil, fmt.Errorf("failed to set kube-burner's request timeout: %w", err)
	}
	path, cleanup, err := kubeconfigPath(kubeconfig)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	return config.NewKubeClientProvider(path, kubeconfigContext), nil
}

// kubeconfigPath makes data readable (once) at a path: a pipe's /dev/fd entry, or a private 0600 file.
func kubeconfigPath(data []byte) (string, func(), error) {
	if r, w, err := os.Pipe(); err == nil {
		path := fmt.Sprintf("/dev/fd/%d", r.Fd())
		if _, err := os.Stat(path); err == nil {
			go func() {
				_, _ = w.Write(data)
				_ = w.Close()
			}()
			return path, func() { _ = r.Close() }, nil
		}
		_ = r.Close()
		_ = w.Close()
	}
	dir, err := os.MkdirTemp("", "pyrometer-kubeconfig-")
	if err != nil {
		return "", nil, fmt.Errorf("failed to create a private directory for kube-burner's kubeconfig: %w", err)
	}
	path := dir + string(os.PathSeparator) + "kubeconfig"
	if err := os.WriteFile(path, data, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("failed to write kube-burner's kubeconfig: %w", err)
	}
	return path, func() { _ = os.RemoveAll(dir) }, nil
}
