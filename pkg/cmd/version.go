package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/report"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/stress"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/version"
)

// VersionOptions holds the flags of "kubectl pyrometer version".
type VersionOptions struct {
	configFlags *genericclioptions.ConfigFlags
	Output      string
	ClientOnly  bool
	genericiooptions.IOStreams
}

// VersionResult is the data printed by "kubectl pyrometer version".
type VersionResult struct {
	Client version.Info `json:"client"`
	Server *ServerInfo  `json:"server,omitempty"`
}

// ServerInfo describes the apiserver reached with the current kubeconfig flags.
type ServerInfo struct {
	Host       string `json:"host"`
	GitVersion string `json:"gitVersion"`
	Platform   string `json:"platform"`
}

// NewCmdVersion returns "kubectl pyrometer version".
func NewCmdVersion(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{configFlags: cf, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version and the version of the server it reaches",
		Example: `  kubectl pyrometer version
  kubectl pyrometer version --client -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := textFormats.validate(&o.Output); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	textFormats.addFlag(cmd, &o.Output)
	cmd.Flags().BoolVar(&o.ClientOnly, "client", false, "Print the plugin's version only; do not contact the server.")
	return cmd
}

// Run prints the version; it fails if the server cannot be reached (unless --client).
func (o *VersionOptions) Run(ctx context.Context) error {
	res := VersionResult{Client: version.Get()}
	res.Client.KubeBurner = stress.Version()
	var serverErr error
	if !o.ClientOnly {
		res.Server, serverErr = o.serverInfo(ctx)
	}
	if o.Output == "text" {
		c := res.Client
		rows := [][2]string{{"Plugin Version:", c.Version}, {"Git Commit:", c.GitCommit}, {"Build Date:", c.BuildDate},
			{"Go:", c.GoVersion + " " + c.Platform}, {"kube-burner:", c.KubeBurner}, {"Probe Image:", c.ProbeImage}}
		if res.Server != nil {
			rows = append(rows, [2]string{"Server:", res.Server.Host},
				[2]string{"Server Version:", res.Server.GitVersion + " (" + res.Server.Platform + ")"})
		}
		if err := report.KeyValues(o.Out, rows); err != nil {
			return err
		}
	} else if err := report.Write(o.Out, o.Output, res); err != nil {
		return err
	}
	return serverErr
}

func (o *VersionOptions) serverInfo(ctx context.Context) (*ServerInfo, error) {
	cfg, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for %s: %w", cfg.Host, err)
	}
	type result struct {
		gv, plat string
		err      error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := dc.ServerVersion()
		if err != nil {
			ch <- result{err: err}
			return
		}
		ch <- result{gv: v.GitVersion, plat: v.Platform}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("failed to reach the server at %s: %w", cfg.Host, r.err)
		}
		return &ServerInfo{Host: cfg.Host, GitVersion: r.gv, Platform: r.plat}, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("interrupted while contacting %s: %w", cfg.Host, ctx.Err())
	}
}
