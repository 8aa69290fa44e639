package calibrate

import (
	"testing"
	"time"
)

func TestScale(t *testing.T) {
	for _, tc := range []struct {
		guest, host time.Duration
		want        float64
	}{
		{4 * time.Second, time.Second, 4},
		{time.Second, 2 * time.Second, 1},
		{time.Second, 0, 1},
		{time.Hour, time.Second, MaxScale},
	} {
		if got := Scale(tc.guest, tc.host); got != tc.want {
			t.Errorf("Scale(%v, %v) = %v, want %v", tc.guest, tc.host, got, tc.want)
		}
	}
}

func TestRunTakesTime(t *testing.T) {
	if d := Best(2); d <= 0 {
		t.Errorf("Best(2) = %v, want > 0", d)
	}
}
