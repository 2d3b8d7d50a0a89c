package stress

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/signals"
)

// Runner runs kube-burner specs against the cluster of a rest.Config. Each Run is a child process: the plugin's
// own binary re-executed with the hidden subcommand ChildCommand (see ServeChild). kube-burner runs its jobs on
// context.Background() with a timeout of its own and calls log.Fatal on some errors, so it cannot be stopped from
// inside the process; a process can: when the caller's context ends, the process group is killed (SIGKILL) and
// waited for, so nothing the run created after that moment comes from kube-burner. On Linux the child also dies
// with the plugin (Pdeathsig); everywhere it exits when its stdin (held open by the plugin) reaches EOF.
// kube-burner's logs (the child's stderr) go to the writer given to NewRunner, never to stdout.
type Runner struct {
	kubeconfig []byte
	logs       io.Writer
}

// Result is the outcome of one kube-burner run, timed and counted by us (kube-burner's own elapsed time has
// whole-second resolution and it does not count failed creations).
type Result struct {
	RC        int           `json:"rc"` // kube-burner's: 0 ok, 1 job errors, 2 timeout, ...; -1 stopped or failed
	Elapsed   time.Duration `json:"elapsed"`
	ErrorLogs int           `json:"errorLogs"` // error-level log lines (failed creations are logged, then retried)
	LastError string        `json:"lastError,omitempty"`
}

// Spec is one kube-burner run, as our own types: it crosses to the kube-burner process as such and the process
// builds kube-burner's config.Spec with BuildSpec (kube-burner's types drop fields in JSON and set defaults in
// their YAML unmarshalers, so they are not a wire format).
type Spec struct {
	Options SpecOptions
	Jobs    []Job
}

// NewSpec checks that o and jobs make a valid kube-burner spec.
func NewSpec(o SpecOptions, jobs []Job) (Spec, error) {
	if _, err := BuildSpec(o, jobs); err != nil {
		return Spec{}, err
	}
	return Spec{Options: o, Jobs: jobs}, nil
}

// ErrStopped is returned when ctx ended before kube-burner finished: its process was killed and has exited, so it
// creates nothing any more.
var ErrStopped = errors.New("kube-burner stopped")

// NewRunner prepares kube-burner runs against the cluster of cfg. Nothing is written to disk: the connection goes
// to each kube-burner process on its stdin (see Kubeconfig).
func NewRunner(cfg *rest.Config, logs io.Writer) (*Runner, error) {
	kc, err := Kubeconfig(cfg)
	if err != nil {
		return nil, err
	}
	if logs == nil {
		logs = io.Discard
	}
	return &Runner{kubeconfig: kc, logs: logs}, nil
}

// childCommand returns the command that runs ServeChild: this executable with ChildCommand (tests override it).
var childCommand = func() (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("failed to find the plugin's executable to run kube-burner: %w", err)
	}
	return exec.Command(exe, ChildCommand), nil
}

// killWait bounds the wait for a killed process to be reaped.
const killWait = 10 * time.Second

// Run runs spec in a kube-burner process and waits for it, or for ctx: then the process is killed and waited for.
func (r *Runner) Run(ctx context.Context, spec Spec) (Result, error) {
	res := Result{RC: -1}
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("%w before it started: %w", ErrStopped, err)
	}
	req, err := encodeRequest(request{Spec: spec, Kubeconfig: r.kubeconfig})
	if err != nil {
		return res, err
	}
	cmd, err := childCommand()
	if err != nil {
		return res, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return res, fmt.Errorf("failed to start kube-burner: %w", err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = r.logs
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("failed to start kube-burner: %w", err)
	}
	proc := cmd.Process
	removeHook := signals.OnForcedExit(func() { kill(proc) })
	defer removeHook()
	// The request, length-prefixed; stdin then stays open: its EOF tells the child that the plugin is gone.
	go func() { _, _ = stdin.Write(req) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		kill(proc)
		select {
		case <-done:
		case <-time.After(killWait):
			return res, fmt.Errorf("kube-burner process %d did not exit within %v of SIGKILL", proc.Pid, killWait)
		}
		res.Elapsed = time.Since(start)
		return res, fmt.Errorf("%w: %w", ErrStopped, ctx.Err())
	}
	res.Elapsed = time.Since(start)
	var cr childResult
	if jerr := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &cr); jerr != nil {
		if werr == nil {
			werr = jerr
		}
		return res, fmt.Errorf("kube-burner process failed (%v); see kube-burner.log", werr)
	}
	res.RC, res.ErrorLogs, res.LastError = cr.RC, cr.ErrorLogs, strings.TrimSpace(cr.LastError)
	switch {
	case cr.Fatal:
		return res, fmt.Errorf("kube-burner failed: %s", cr.Error)
	case cr.Error != "":
		return res, fmt.Errorf("kube-burner: %s", cr.Error)
	case res.RC != 0:
		return res, fmt.Errorf("kube-burner exited with rc %d: %s", res.RC, res.LastError)
	}
	return res, nil
}

// request is what the plugin sends to the kube-burner process (gob keeps the types of the template variables).
type request struct {
	Spec       Spec
	Kubeconfig []byte
}

// childResult is what the kube-burner process answers on stdout (one JSON object).
type childResult struct {
	RC        int    `json:"rc"`
	ErrorLogs int    `json:"errorLogs"`
	LastError string `json:"lastError,omitempty"`
	Error     string `json:"error,omitempty"`
	Fatal     bool   `json:"fatal,omitempty"`
}

// encodeRequest frames req for the child's stdin: its length (8 bytes, big endian), then req in gob.
func encodeRequest(req request) ([]byte, error) {
	var b bytes.Buffer
	b.Write(make([]byte, 8))
	if err := gob.NewEncoder(&b).Encode(req); err != nil {
		return nil, fmt.Errorf("failed to encode the kube-burner request: %w", err)
	}
	out := b.Bytes()
	binary.BigEndian.PutUint64(out[:8], uint64(len(out)-8))
	return out, nil
}
