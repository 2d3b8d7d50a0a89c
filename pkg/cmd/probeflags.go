package cmd

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// Where probes run.
const (
	FromLocal   = "local"
	FromCluster = "cluster"
	FromBoth    = "both"
)

const defaultRequestTimeout = 10 * time.Second

// DefaultInterval is the default time between two samples of each probe kind (5 per second per kind), and
// DefaultWindow the default probe window of each phase of a run: together 100 samples per kind and phase, the
// fewest that support a p99 (probe.MinSamplesP99); `probe`'s default 30 s gives 150. The probe's own cost at
// this rate is in the README (Probe, "Cost of the probe").
const (
	DefaultInterval = 200 * time.Millisecond
	DefaultWindow   = 20 * time.Second
)

// ProbeFlags are the probe settings shared by `probe` and `run`.
type ProbeFlags struct {
	Probes        string
	Interval      time.Duration
	Rate          float64
	From          string
	Image         string
	ListNamespace string
	NodeSelector  map[string]string // also for the in-cluster probe pod

	kinds          []probe.Kind
	explicitKinds  bool
	rateSet        bool // the interval comes from --rate
	requestTimeout time.Duration
}

func (f *ProbeFlags) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Probes, "probes", "all", "Probe kinds, comma separated: "+strings.Join(probe.KindNames(), ", ")+
		", or all (all that the identity may use).")
	cmd.Flags().DurationVar(&f.Interval, "interval", DefaultInterval, "Time between two samples of each kind (open loop: a slow answer never delays the next sample; kinds are staggered across it).")
	cmd.Flags().Float64Var(&f.Rate, "rate", 0, "Samples per second per kind, > 0 and <= 1000; an alternative to --interval (given at a higher level, flag > --config > --profile, it wins over it).")
	cmd.Flags().StringVar(&f.From, "probe-from", FromLocal, "Where probes run: local (in this process), cluster (a Job running the plugin's image), or both.")
	cmd.Flags().StringVar(&f.Image, "probe-image", version.Get().ProbeImage, "Image of the in-cluster probe (the plugin's own image).")
	cmd.Flags().StringVar(&f.ListNamespace, "list-namespace", probe.DefaultListNamespace, "Namespace whose ConfigMaps the list-namespace probe lists.")
}

// complete resolves the kinds and the per-request timeout (kubectl's --request-timeout; 10s when unset).
func (f *ProbeFlags) complete(cmd *cobra.Command, cf *genericclioptions.ConfigFlags) error {
	kinds, err := probe.ParseKinds(f.Probes)
	if err != nil {
		return fmt.Errorf("invalid --probes: %w", err)
	}
	f.kinds = kinds
	f.explicitKinds = cmd.Flags().Changed("probes") && strings.TrimSpace(f.Probes) != "all"
	if cmd.Flags().Changed("rate") {
		if cmd.Flags().Changed("interval") {
			return errors.New("invalid flags: --rate and --interval are mutually exclusive")
		}
		if math.IsNaN(f.Rate) || f.Rate <= 0 || f.Rate > 1000 { // NaN compares false with everything
			return fmt.Errorf("invalid --rate %v: must be a number of samples per second per kind, greater than 0 and at most 1000", f.Rate)
		}
		f.Interval = time.Duration(math.MaxInt64) // a rate so low that the interval overflows: refused by validate
		if iv := float64(time.Second) / f.Rate; iv < float64(math.MaxInt64) {
			f.Interval = time.Duration(iv)
		}
		f.rateSet = true
	}
	f.requestTimeout, err = requestTimeout(cf)
	return err
}

func (f *ProbeFlags) validate(window time.Duration, windowFlag string) error {
	if f.Interval < time.Millisecond {
		return fmt.Errorf("invalid --interval %v: must be at least 1ms", f.Interval)
	}
	if f.Interval > window && f.rateSet {
		return fmt.Errorf("invalid --rate %v: one sample every %v is longer than %s %v (no sample would be taken)", f.Rate, f.Interval, windowFlag, window)
	}
	if f.Interval > window {
		return fmt.Errorf("invalid --interval %v: must not be longer than %s %v (no sample would be taken)", f.Interval, windowFlag, window)
	}
	switch f.From {
	case FromLocal, FromCluster, FromBoth:
	default:
		return fmt.Errorf("invalid --probe-from %q: allowed values are local, cluster, both", f.From)
	}
	if f.From != FromLocal && f.Image == "" {
		return errors.New("invalid --probe-image: an image is required with --probe-from cluster or both")
	}
	return nil
}

// requestTimeout reads kubectl's --request-timeout ("0" = unset: the probe default of 10s).
func requestTimeout(cf *genericclioptions.ConfigFlags) (time.Duration, error) {
	s := ""
	if cf.Timeout != nil {
		s = strings.TrimSpace(*cf.Timeout)
	}
	if s == "" || s == "0" {
		return defaultRequestTimeout, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid --request-timeout %q: want a positive duration like 10s", s)
	}
	return d, nil
}
