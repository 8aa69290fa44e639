// Package loopcost measures what file operations cost the process that makes them, for the benchmarks that
// compare a monitor on and off: the CPU time (user and system) of the thread running a tight loop. The
// probes run in the system call's context, so their cost is in that time; the sensor's own work, on other
// threads and processes, is not.
package loopcost

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"
)

// Op is one operation of a loop, made in dir.
type Op struct {
	Name string
	Do   func(dir string) error
}

// Ops are the loops the benchmarks report: a file created, closed and removed, and a directory made and
// removed.
func Ops() []Op { return []Op{{"create+close+unlink", CreateUnlink}, {"mkdir+rmdir", MkdirRmdir}} }

// CreateUnlink creates dir/f, closes it and removes it.
func CreateUnlink(dir string) error {
	name := filepath.Join(dir, "f")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(name)
}

// MkdirRmdir makes dir/d and removes it.
func MkdirRmdir(dir string) error {
	name := filepath.Join(dir, "d")
	if err := os.Mkdir(name, 0o755); err != nil {
		return err
	}
	return os.Remove(name)
}

// PerOp runs do n times in dir on one locked thread and returns that thread's CPU nanoseconds per op.
func PerOp(do func(string) error, dir string, n int) (float64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := threadCPU()
	if err != nil {
		return 0, err
	}
	for range n {
		if err := do(dir); err != nil {
			return 0, fmt.Errorf("loop in %s: %w", dir, err)
		}
	}
	after, err := threadCPU()
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(n), nil
}

func threadCPU() (int64, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0, fmt.Errorf("reading the thread's CPU time: %w", err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), nil
}

// Median is the middle value of v (the upper one of an even count).
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
