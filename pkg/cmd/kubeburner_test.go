package cmd

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stress"
)

// TestKubeBurnerCommandHidden: the kube-burner process subcommand exists but is neither in the help nor completed.
func TestKubeBurnerCommandHidden(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdPyrometer(streams)
	if c, _, err := root.Find([]string{stress.ChildCommand}); err != nil || c.Name() != stress.ChildCommand || !c.Hidden {
		t.Fatalf("%s: found %v hidden %v err %v", stress.ChildCommand, c != nil, c != nil && c.Hidden, err)
	}
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "kube-burner process") || strings.Contains(out.String(), stress.ChildCommand) {
		t.Errorf("help shows the internal command:\n%s", out.String())
	}
	streams, _, out, _ = genericiooptions.NewTestIOStreams()
	root = NewCmdPyrometer(streams)
	root.SetArgs([]string{"__complete", "_"})
	_ = root.Execute()
	streams, _, out2, _ := genericiooptions.NewTestIOStreams()
	root = NewCmdPyrometer(streams)
	root.SetArgs([]string{"__complete", ""})
	_ = root.Execute()
	if strings.Contains(out.String()+out2.String(), stress.ChildCommand) {
		t.Errorf("completion offers the internal command:\n%s%s", out.String(), out2.String())
	}
	if !strings.Contains(out2.String(), "run") {
		t.Errorf("completion output unexpected:\n%s", out2.String())
	}
}
