// Package stat holds the significance tests shared by compare (run A vs run B) and the recovery verdict
// (a recovery window vs the baseline).
package stat

import "math"

// Methods of ErrorRatioTest.
const (
	MethodZ      = "two-proportion z-test"
	MethodFisher = "Fisher's exact test"
)

// MaxExactTables bounds the work of the exact test: ErrorRatioTest sums over at most this many 2x2 tables (about a
// millisecond) and uses the normal approximation beyond, where counts are large and it is accurate.
const MaxExactTables = 100_000

// ProportionResult is the outcome of ErrorRatioTest.
type ProportionResult struct {
	Method string  `json:"method"`      // MethodZ or MethodFisher
	Z      float64 `json:"z,omitempty"` // standard score of ratioB-ratioA (z-test only)
	P      float64 `json:"p"`           // two-sided p-value
}

// ErrorRatioTest tests whether the error ratios errA/nA and errB/nB differ (two-sided). It is Fisher's exact
// test, P = the sum of the hypergeometric probabilities of every table with the same margins that is no more
// likely than the observed one (what scipy.stats.fisher_exact computes), unless that means summing more than
// MaxExactTables tables (tens of thousands of errors and successes on both sides): then the pooled
// two-proportion z-test, P = erfc(|Z|/sqrt(2)). P is 1 when there is nothing to compare: an empty side, no error at all,
// or nothing but errors on both sides.
func ErrorRatioTest(errA, nA, errB, nB int) ProportionResult {
	if nA <= 0 || nB <= 0 || errA < 0 || errB < 0 || errA > nA || errB > nB {
		return ProportionResult{Method: MethodFisher, P: 1}
	}
	n, k := nA+nB, errA+errB
	if k == 0 || k == n {
		return ProportionResult{Method: MethodFisher, P: 1}
	}
	if min(k, nA)-max(0, k-nB) >= MaxExactTables {
		fa, fb, fn, fk := float64(nA), float64(nB), float64(n), float64(k)
		pool := fk / fn
		se := math.Sqrt(pool * (1 - pool) * (1/fa + 1/fb))
		z := (float64(errB)/fb - float64(errA)/fa) / se
		return ProportionResult{Method: MethodZ, Z: z, P: math.Min(1, math.Erfc(math.Abs(z)/math.Sqrt2))}
	}
	return ProportionResult{Method: MethodFisher, P: fisher(errA, nA, nB, k)}
}

// fisher is the two-sided p-value of Fisher's exact test: x = errA errors in row A (size nA), k errors in all,
// nB in row B. X is hypergeometric on [max(0, k-nB), min(k, nA)].
func fisher(x, nA, nB, k int) float64 {
	lo, hi := max(0, k-nB), min(k, nA)
	logP := func(i int) float64 { return lchoose(k, i) + lchoose(nA+nB-k, nA-i) - lchoose(nA+nB, nA) }
	obs := logP(x)
	// Tables as likely as the observed one count too; the relative tolerance absorbs rounding (as scipy does).
	limit := obs + math.Log1p(1e-7)
	p := 0.0
	for i := lo; i <= hi; i++ {
		if lp := logP(i); lp <= limit {
			p += math.Exp(lp)
		}
	}
	return math.Min(1, p)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
