package probe

// SourceChurn tags the samples of the native write engine (pkg/churn): its writes (rows churn:create, ...) and
// their notifications (notify:add, ...). They are grouped apart from the probe's, so the probe's pooled "all" row
// stays the probe's.
const SourceChurn = "churn"

// ByRows is one row per kind of rows that source has samples of in phase, in the order of rows, without a pooled
// row: the rows of the native engine, which are not probe kinds. nil when there is none.
func (a *Aggregate) ByRows(source, phase string, rows []Kind) []Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Stats
	for _, k := range rows {
		if g := a.groups[GroupKey{source, phase, k}]; g != nil {
			out = append(out, summarize(string(k), phase, g.tally, &g.ok, &g.failed))
		}
	}
	return out
}
