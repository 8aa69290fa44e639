package vm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrHung: a test of the program in the VM, or the boot before the first test, ran past its budget, so
// the VM was stopped.
var ErrHung = errors.New("the VM made no progress within its budget")

// watchInterval is how often the watchdog looks at the clock; bootBudget is the least time the boot and
// init's calibration get before the guest's time scale is known (they take about 10 s under TCG).
const (
	watchInterval = time.Second
	bootBudget    = 3 * time.Minute
)

// watchdog stops a VM whose current phase (the boot, a top-level test, the time after one) has lasted
// longer than its budget: Options.TestBudget in host time, stretched by the guest's time scale once init
// has reported it. A slow machine thus gets proportionally more time, and a hang is still caught.
type watchdog struct {
	mu     sync.Mutex
	budget time.Duration
	scale  float64
	phase  string
	since  time.Time
}

func newWatchdog(budget time.Duration) *watchdog {
	return &watchdog{budget: budget, scale: 1, phase: phaseBoot, since: time.Now()}
}

// phaseBoot is the first phase, until init reports the guest's time scale.
const phaseBoot = "booting"

// enter starts a new phase, e.g. "TestX" or "after TestX".
func (w *watchdog) enter(phase string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase, w.since = phase, time.Now()
}

// setScale ends the boot: from now on the budget is stretched by f.
func (w *watchdog) setScale(f float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.scale, w.phase, w.since = f, "starting the program", time.Now()
}

// overdue returns an ErrHung error once the current phase has lasted past its budget.
func (w *watchdog) overdue(now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	limit := time.Duration(float64(w.budget) * w.scale)
	if w.phase == phaseBoot {
		limit = max(limit, bootBudget)
	}
	if ran := now.Sub(w.since); ran > limit {
		return fmt.Errorf("%w: %s ran %v, past its budget of %v (%v × the guest's time scale %.2f)",
			ErrHung, w.phase, ran.Round(time.Second), limit.Round(time.Second), w.budget, w.scale)
	}
	return nil
}

// run cancels ctx with the overdue error when a phase runs past its budget, until ctx ends.
func (w *watchdog) run(ctx context.Context, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if err := w.overdue(now); err != nil {
				cancel(err)
				return
			}
		}
	}
}
