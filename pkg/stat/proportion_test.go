package stat

import (
	"math"
	"testing"
)

func TestErrorRatioTest(t *testing.T) {
	for _, tc := range []struct {
		name               string
		errA, nA, errB, nB int
		method             string
		p                  float64
		tolerance          float64
	}{
		// scipy.stats.fisher_exact([[1, 9], [11, 3]]) -> pvalue 0.0027594561852200836
		{"fisher textbook", 1, 10, 11, 14, MethodFisher, 0.0027594561852200836, 1e-12},
		// scipy.stats.fisher_exact([[0, 10], [3, 7]]) -> pvalue 0.2105263157894737
		{"fisher small", 0, 10, 3, 10, MethodFisher, 0.21052631578947367, 1e-12},
		// every B sample failed, none of A's: scipy.stats.fisher_exact([[0, 10], [10, 0]]) -> 1.0825088224469026e-05
		{"all of B failed", 0, 10, 10, 10, MethodFisher, 1.082508822446903e-05, 1e-15},
		// [[10, 90], [30, 70]] -> 0.000650410707603421
		{"fisher 100 each", 10, 100, 30, 100, MethodFisher, 0.000650410707603421, 1e-12},
		{"same ratio", 10, 100, 10, 100, MethodFisher, 1, 1e-9},
		// pooled z: p=0.2001, se=sqrt(0.2001*0.7999*(2/500000)), z=0.2/se, p=erfc(z/sqrt2)
		{"z-test", 100_000, 500_000, 100_100, 500_000, MethodZ, math.Erfc(0.0002 / math.Sqrt(0.2001*0.7999*4e-6) / math.Sqrt2), 1e-9},
		{"no errors", 0, 100, 0, 100, MethodFisher, 1, 0},
		{"empty side", 0, 0, 5, 10, MethodFisher, 1, 0},
		{"only errors", 5, 5, 7, 7, MethodFisher, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ErrorRatioTest(tc.errA, tc.nA, tc.errB, tc.nB)
			if got.Method != tc.method || math.Abs(got.P-tc.p) > tc.tolerance {
				t.Errorf("ErrorRatioTest(%d/%d, %d/%d) = %+v, want %s p=%v", tc.errA, tc.nA, tc.errB, tc.nB, got, tc.method, tc.p)
			}
			// symmetric in A and B
			if sw := ErrorRatioTest(tc.errB, tc.nB, tc.errA, tc.nA); math.Abs(sw.P-got.P) > 1e-12 {
				t.Errorf("swapped: p=%v, want %v", sw.P, got.P)
			}
		})
	}
}

func TestErrorRatioTestLargeCountsFast(t *testing.T) {
	// a 24 h probe's worth: 0.010% vs 0.020% of 5M samples
	r := ErrorRatioTest(500, 5_000_000, 1000, 5_000_000)
	if r.P > 1e-10 {
		t.Errorf("got %+v, want a tiny p", r)
	}
}
