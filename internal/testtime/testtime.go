// Package testtime owns how long a test may wait for something: one scale factor, read from
// FACTSTREAM_TEST_TIME_SCALE, stretches every bounded wait of the project's tests on a machine slower than
// the one the bound was chosen on. The VM harness sets it in each guest from a calibration measured at
// boot (a kernel under QEMU's software emulation runs several times slower than the host); elsewhere it
// is 1 unless set by hand. Tests never assert on speed: a scaled wait only decides when to give up.
package testtime

import (
	"os"
	"strconv"
	"time"
)

// Env names the scale factor: a number of at least 1 (smaller or malformed values count as 1).
const Env = "FACTSTREAM_TEST_TIME_SCALE"

// Scale returns the factor from Env, at least 1.
func Scale() float64 {
	f, err := strconv.ParseFloat(os.Getenv(Env), 64)
	if err != nil || f < 1 {
		return 1
	}
	return f
}

// Scaled stretches d by Scale.
func Scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * Scale())
}
