// Package calibrate owns the fixed piece of work that the VM harness times on the host and init times in
// the guest: their ratio is how much slower the guest runs, and so how far its tests' waits and the
// harness's own budgets stretch (package testtime).
package calibrate

import (
	"time"
)

// loopRounds sizes the work: plain integer arithmetic, which emulation slows about as much as it slows a
// test binary overall. (System calls and SHA instructions are slowed far more, 70 to 100 times under
// TCG: timing them gave a scale that would let a real hang run for an hour.)
const loopRounds = 50_000_000

// MaxScale bounds the scale, so that a noisy calibration cannot turn a budget into hours.
const MaxScale = 30

// Run does the work once and returns how long it took.
func Run() time.Duration {
	start := time.Now()
	x := uint64(start.UnixNano()) | 1
	for range loopRounds {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	if x == 0 { // never: xorshift keeps x nonzero; the test keeps the compiler from dropping the loop
		return 0
	}
	return time.Since(start)
}

// Best returns the fastest of n runs: the machine's speed with the least of its neighbours' noise.
func Best(n int) time.Duration {
	best := Run()
	for range n - 1 {
		best = min(best, Run())
	}
	return best
}

// Scale is how many times slower guest is than host, between 1 and MaxScale.
func Scale(guest, host time.Duration) float64 {
	if host <= 0 {
		return 1
	}
	return min(MaxScale, max(1, float64(guest)/float64(host)))
}
