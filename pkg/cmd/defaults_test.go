package cmd

import (
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/config"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// samplesPerKind is the fewest samples any of n staggered kinds takes in a window d (probe.Prober.Run: kind i
// fires at i*interval/n + k*interval for every slot before d).
func samplesPerKind(d, interval time.Duration, n int) int {
	fewest := -1
	for i := range n {
		off := probe.StaggerOffset(interval, i, n)
		c := int((d - off + interval - 1) / interval)
		if fewest < 0 || c < fewest {
			fewest = c
		}
	}
	return fewest
}

// issue 12 item 19: the defaults took 10 samples per kind and phase, and verdicts read a p99 out of them. Every
// default phase (and each built-in profile's) must hold at least probe.MinSamplesP99 samples per kind.
func TestDefaultsSupportP99(t *testing.T) {
	for _, profile := range []string{"", "small", "large"} {
		cmd := newReadyRunCmd()
		if _, err := config.Apply(cmd.LocalNonPersistentFlags(), "", profile); err != nil {
			t.Fatalf("profile %q: %v", profile, err)
		}
		f := cmd.Flags()
		interval, _ := f.GetDuration("interval")
		for _, window := range []string{"baseline", "step-duration", "recovery"} {
			d, _ := f.GetDuration(window)
			if got := samplesPerKind(d, interval, len(probe.AllKinds)); got < probe.MinSamplesP99 {
				t.Errorf("profile %q: --%s %v at --interval %v gives %d samples per kind, want >= %d",
					profile, window, d, interval, got, probe.MinSamplesP99)
			}
		}
	}
	cmd := NewCmdProbe(nil, genericiooptions.NewTestIOStreamsDiscard())
	d, _ := cmd.Flags().GetDuration("duration")
	interval, _ := cmd.Flags().GetDuration("interval")
	if got := samplesPerKind(d, interval, len(probe.AllKinds)); got < probe.MinSamplesP99 {
		t.Errorf("probe: --duration %v at --interval %v gives %d samples per kind, want >= %d", d, interval, got, probe.MinSamplesP99)
	}
}
