package testtime

import (
	"testing"
	"time"
)

func TestScaled(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
	}{
		{"", time.Minute},
		{"1", time.Minute},
		{"2.5", 150 * time.Second},
		{"0.5", time.Minute},
		{"-3", time.Minute},
		{"fast", time.Minute},
	} {
		t.Setenv(Env, tc.env)
		if got := Scaled(time.Minute); got != tc.want {
			t.Errorf("%s=%q: Scaled(1m) = %v, want %v", Env, tc.env, got, tc.want)
		}
	}
}
