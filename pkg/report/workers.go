package report

import (
	"fmt"
	"strconv"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// workerRows are the rows of a load run by worker pods (--load-from cluster), under its merged row in the
// delivered-load table: each worker's own requested and delivered writes, its errors (in COMPLETED - SUCCEEDED) and
// its verdict, or why it did not deliver (it did not start, or died).
func workerRows(l result.LoadStep) [][]string {
	var rows [][]string
	n := len(l.PerWorker)
	for _, w := range l.PerWorker {
		d := w.Delivery
		res := w.Verdict.String()
		if w.Failure != "" {
			res = "load not delivered: " + w.Failure
		} else if w.Errors > 0 {
			res += fmt.Sprintf("; %d write errors", w.Errors)
		}
		name := fmt.Sprintf("  worker %d/%d", w.Index+1, n)
		if w.Node != "" {
			name += " on " + w.Node
		}
		rows = append(rows, []string{"", name, trimFloat(w.Rate), strconv.Itoa(d.Requested), strconv.Itoa(d.Issued),
			strconv.Itoa(d.Completed), strconv.Itoa(d.Succeeded), strconv.FormatFloat(d.RequestedRate, 'f', 1, 64),
			strconv.FormatFloat(d.DeliveredRate, 'f', 1, 64), strconv.FormatFloat(d.Ratio, 'f', 2, 64), strconv.Itoa(d.LiveMax),
			"", "", res})
	}
	return rows
}
