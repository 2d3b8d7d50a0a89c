package report

import (
	"testing"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/golden"
)

func assertGolden(t *testing.T, name string, got []byte) { t.Helper(); golden.Assert(t, name, got) }
