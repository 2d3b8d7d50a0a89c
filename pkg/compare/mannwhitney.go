package compare

import (
	"errors"
	"math"
	"sort"
)

// TestName names the significance test in every output.
const TestName = "two-sided Mann-Whitney U (normal approximation, tie and continuity correction)"

// ErrorTestName names the test of the error ratios (stat.ErrorRatioTest) in every output.
const ErrorTestName = "two-sided Fisher's exact test (two-proportion z-test beyond 100000 tables)"

// MinSamples is the smallest number of successful samples on each side for which a p-value is reported; below
// it the normal approximation is poor and the row says "too few samples" instead.
const MinSamples = 8

// MannWhitneyResult is the outcome of MannWhitney.
type MannWhitneyResult struct {
	// U is the U statistic of the first sample: the number of pairs (x, y) with x > y, ties counting one half.
	// It ranges from 0 to len(x)*len(y); len(x)*len(y)/2 means no shift.
	U float64 `json:"u"`
	// Z is the continuity-corrected standard score of U. Negative: x tends to be smaller than y.
	Z float64 `json:"z"`
	// P is the two-sided p-value, erfc(|Z|/sqrt(2)).
	P float64 `json:"p"`
}

// MannWhitney runs the two-sided Mann-Whitney U test (Wilcoxon rank-sum test) of x against y with the normal
// approximation:
//
//	ranks of the pooled samples, tied values get the mean of their ranks
//	U    = R_x - n_x(n_x+1)/2                    (R_x: sum of the ranks of x)
//	mu   = n_x*n_y/2
//	var  = n_x*n_y/12 * ((n+1) - sum(t^3-t)/(n(n-1)))   (t: size of each group of ties, n = n_x+n_y)
//	Z    = (U - mu - 0.5*sign(U-mu)) / sqrt(var)        (continuity correction, 0 when |U-mu| <= 0.5)
//	P    = erfc(|Z|/sqrt(2))
//
// This is what scipy.stats.mannwhitneyu(x, y, method="asymptotic") computes. When every value is the same
// the variance is zero and P is 1. It is an error for x or y to be empty.
func MannWhitney(x, y []float64) (MannWhitneyResult, error) {
	nx, ny := len(x), len(y)
	if nx == 0 || ny == 0 {
		return MannWhitneyResult{}, errors.New("mann-whitney: both samples must be non-empty")
	}
	type obs struct {
		v     float64
		fromX bool
	}
	all := make([]obs, 0, nx+ny)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := len(all)
	var rx, ties float64
	for i := 0; i < n; {
		j := i
		for j < n && all[j].v == all[i].v {
			j++
		}
		// positions i..j-1 hold ranks i+1..j; their mean is (i+1+j)/2
		rank := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if all[k].fromX {
				rx += rank
			}
		}
		if t := float64(j - i); t > 1 {
			ties += t*t*t - t
		}
		i = j
	}
	fx, fy, fn := float64(nx), float64(ny), float64(n)
	u := rx - fx*(fx+1)/2
	mu := fx * fy / 2
	res := MannWhitneyResult{U: u, P: 1}
	variance := fx * fy / 12 * (fn + 1)
	if n > 1 {
		variance = fx * fy / 12 * ((fn + 1) - ties/(fn*(fn-1)))
	}
	if variance <= 0 {
		return res, nil
	}
	d := u - mu
	switch {
	case d > 0.5:
		d -= 0.5
	case d < -0.5:
		d += 0.5
	default:
		d = 0
	}
	res.Z = d / math.Sqrt(variance)
	res.P = math.Min(1, math.Erfc(math.Abs(res.Z)/math.Sqrt2))
	return res, nil
}
