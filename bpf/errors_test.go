package bpf

import (
	"errors"
	"fmt"
	"testing"
)

// TestUnavailableError: the error matches ErrUnavailable and keeps its cause; the summary a person reads
// leaves the cause out.
func TestUnavailableError(t *testing.T) {
	cause := errors.New("load program: operation not permitted (MEMLOCK may be too low)")
	err := fmt.Errorf("load: %w", &UnavailableError{Set: ProbeSetLSM, Reason: "the kernel refuses BPF trampolines", Err: cause})
	var ue *UnavailableError
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, cause) || !errors.As(err, &ue) {
		t.Fatalf("%v: does not match ErrUnavailable, its cause and *UnavailableError", err)
	}
	if got, want := ue.Summary(), "lsm probes unavailable: the kernel refuses BPF trampolines"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}
