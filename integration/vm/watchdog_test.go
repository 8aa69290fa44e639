package vm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWatchdogScalesTheBudget(t *testing.T) {
	w := newWatchdog(time.Minute)
	start := w.since
	if err := w.overdue(start.Add(bootBudget - time.Second)); err != nil {
		t.Errorf("overdue within the boot's budget: %v", err)
	}
	if err := w.overdue(start.Add(bootBudget + time.Second)); !errors.Is(err, ErrHung) || !strings.Contains(err.Error(), "booting") {
		t.Errorf("past the budget while booting: got %v, want ErrHung naming the boot", err)
	}
	w.setScale(4)
	w.enter("TestSlow")
	start = w.since
	if err := w.overdue(start.Add(3 * time.Minute)); err != nil {
		t.Errorf("overdue within the scaled budget: %v", err)
	}
	err := w.overdue(start.Add(5 * time.Minute))
	if !errors.Is(err, ErrHung) || !strings.Contains(err.Error(), "TestSlow ran 5m0s, past its budget of 4m0s") {
		t.Errorf("past the scaled budget: got %v", err)
	}
}
