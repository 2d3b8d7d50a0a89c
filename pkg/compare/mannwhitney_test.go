package compare

import (
	"math"
	"testing"
)

func TestMannWhitney(t *testing.T) {
	// Expected U counted pair by pair; Z and P from the formulas in MannWhitney's doc, computed independently.
	tests := []struct {
		name    string
		x, y    []float64
		u, z, p float64
	}{
		// Textbook example (Mann and Whitney's classic two-group table): U = 17 for x, 3 for y.
		{"textbook no ties", []float64{19, 22, 16, 29, 24}, []float64{20, 11, 17, 12}, 17, 1.5921683328090657, 0.11134688653314048},
		{"ties", []float64{1, 2, 2, 3, 3, 3, 4, 5}, []float64{3, 4, 4, 5, 5, 6, 7, 7, 8}, 7.5, -2.727939278646863, 0.006373133838085877},
		{"complete separation", []float64{1, 2, 3, 4, 5, 6, 7, 8}, []float64{9, 10, 11, 12, 13, 14, 15, 16}, 0, -3.308161698516173, 0.0009391056991171905},
		{"all equal", []float64{5, 5, 5}, []float64{5, 5}, 3, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MannWhitney(tc.x, tc.y)
			if err != nil {
				t.Fatal(err)
			}
			if got.U != tc.u || math.Abs(got.Z-tc.z) > 1e-9 || math.Abs(got.P-tc.p) > 1e-9 {
				t.Errorf("MannWhitney = U %v Z %v P %v, want U %v Z %v P %v", got.U, got.Z, got.P, tc.u, tc.z, tc.p)
			}
			// Swapping the samples mirrors U and Z and keeps P.
			sw, _ := MannWhitney(tc.y, tc.x)
			if sw.U != float64(len(tc.x)*len(tc.y))-tc.u || math.Abs(sw.Z+got.Z) > 1e-12 || math.Abs(sw.P-got.P) > 1e-12 {
				t.Errorf("swapped: U %v Z %v P %v", sw.U, sw.Z, sw.P)
			}
		})
	}
	if _, err := MannWhitney(nil, []float64{1}); err == nil {
		t.Error("empty sample: want an error")
	}
}
