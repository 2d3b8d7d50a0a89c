package cmd

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// ratioFlag is a flag holding a fraction from 0 to 1, given as a fraction ("0.25") or as a percentage with a
// percent sign ("25%"). A bare number above 1 is refused rather than guessed: "25" may mean 25% or 25x, and a
// threshold read as 25 (2500%) would never trip.
type ratioFlag struct{ v *float64 }

func newRatioFlag(p *float64, def float64) *ratioFlag {
	*p = def
	return &ratioFlag{v: p}
}

// errRatio is the message the flag machinery prints after `invalid argument "25" for "--max-error-rate" flag: `.
var errRatio = errors.New("must be a fraction from 0 to 1 (0.25) or a percentage from 0% to 100% (25%)")

func (f *ratioFlag) Set(s string) error {
	v, err := parseRatio(s)
	if err != nil {
		return err
	}
	*f.v = v
	return nil
}

func parseRatio(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errRatio
	}
	if pct {
		v = math.Round(v/100*1e12) / 1e12 // 33.3% is 0.333, not 0.33299999999999996
	}
	if v < 0 || v > 1 {
		return 0, errRatio
	}
	return v, nil
}

// String prints the value as a percentage ("25%"), which Set reads back.
func (f *ratioFlag) String() string {
	if f.v == nil {
		return "0%"
	}
	return strconv.FormatFloat(math.Round(*f.v*100*1e6)/1e6, 'f', -1, 64) + "%"
}

func (f *ratioFlag) Type() string { return "ratio" }
