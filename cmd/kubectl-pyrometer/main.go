// Command kubectl-pyrometer is the kubectl plugin "kubectl pyrometer": it measures how fast the Kubernetes control
// plane answers, and how much worse it gets under staged contention.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec/oidc/... credential plugins, as kubectl has them

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cmd"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/signals"
)

func main() {
	ctx := signals.Context()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.Execute(ctx, streams))
}
