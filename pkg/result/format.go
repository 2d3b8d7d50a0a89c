package result

import (
	"math"
	"strconv"
)

// FormatMS formats a latency in ms for humans: 1 decimal from 10 ms up (1432.1), 2 below (3.27), so that
// small latencies keep two significant digits and large ones do not pretend to a precision they lack.
// Machine outputs (CSV, JSON) keep the full microsecond precision instead.
func FormatMS(v float64) string {
	if math.Abs(v) >= 9.995 { // what %.2f would print as 10.00 or more
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
