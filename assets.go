// Package pyrometer embeds the stress-mode catalogue (plugins.yaml) and its object templates (templates/) into the
// kubectl-pyrometer binary. go:embed cannot reach parent directories, so this file sits next to them.
package pyrometer

import "embed"

// Catalog is plugins.yaml, the built-in stress modes.
//
//go:embed plugins.yaml
var Catalog []byte

// Templates holds templates/*.yaml, the kube-burner object templates the built-in modes use.
//
//go:embed templates/*.yaml
var Templates embed.FS
