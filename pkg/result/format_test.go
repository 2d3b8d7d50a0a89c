package result

import (
	"fmt"
	"testing"
)

func TestFormatMS(t *testing.T) {
	tests := map[float64]string{
		0: "0.00", 0.004: "0.00", 3.274: "3.27", 9.99: "9.99", 9.995: "10.0", 10: "10.0", 1432.14: "1432.1", 30000: "30000.0",
	}
	for v, want := range tests {
		if got := FormatMS(v); got != want {
			t.Errorf("FormatMS(%v) = %q, want %q", v, got, want)
		}
	}
}

func Example_formatMS() {
	fmt.Println(FormatMS(3.274), FormatMS(1432.14))
	// Output: 3.27 1432.1
}
