package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkProbeCost prints, for the probe set this machine runs, the cost per operation of two tight
// loops with the probes attached on a monitored path, on an unmonitored path, and without probes, as
// ratios from the same run (rounds alternate, and the median ratio is reported).
//
// The probes and the reader are set up as the sensor's defaults do: a record wakes the reader only once
// 64 KiB wait (sensor.DefaultWakeupBytes), and the reader polls every 5ms for the rest.
func BenchmarkProbeCost(b *testing.B) {
	p := loadForBench(b, Options{WakeupBytes: 64 << 10})
	go func() { // drain the ring buffer as the sensor would
		var ev Event
		p.SetDeadline(time.Now().Add(benchPoll))
		for {
			err := p.ReadInto(&ev)
			if errors.Is(err, ErrClosed) {
				return
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				p.SetDeadline(time.Now().Add(benchPoll))
			}
		}
	}()
	mon, unmon := b.TempDir()+"/mon", b.TempDir()+"/unmon"
	for _, d := range []string{mon, unmon} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.TrackPath(mon); err != nil {
		b.Fatal(err)
	}
	for _, op := range []struct {
		name string
		do   func(dir string) error
	}{
		{"create+close+unlink", createUnlink},
		{"mkdir+rmdir", mkdirRmdir},
	} {
		b.Run(string(p.Set())+"/"+op.name, func(b *testing.B) {
			measureCost(b, p, op.do, mon, unmon)
		})
	}
}

// benchPoll is how often the benchmark's reader looks for records that did not wake it.
const benchPoll = 5 * time.Millisecond

func loadForBench(b *testing.B, opts Options) *Probes {
	if os.Geteuid() != 0 {
		b.Skip("loading probes needs root")
	}
	p, err := Load(opts)
	if err != nil {
		b.Skipf("no probe set runs here: %v", err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

func createUnlink(dir string) error {
	name := filepath.Join(dir, "f")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(name)
}

func mkdirRmdir(dir string) error {
	name := filepath.Join(dir, "d")
	if err := os.Mkdir(name, 0o755); err != nil {
		return err
	}
	return os.Remove(name)
}

// measureCost alternates rounds without probes and with them (monitored and unmonitored directory) and
// reports each median cost and the median ratios.
func measureCost(b *testing.B, p *Probes, do func(string) error, mon, unmon string) {
	const rounds, perRound = 7, 5000
	var none, monitored, unmonitored, rMon, rUnmon []float64
	for range rounds {
		if err := p.detachAll(); err != nil {
			b.Fatal(err)
		}
		n := loopCost(b, do, unmon, perRound)
		if err := p.attachAll(); err != nil {
			b.Fatal(err)
		}
		m, u := loopCost(b, do, mon, perRound), loopCost(b, do, unmon, perRound)
		none, monitored, unmonitored = append(none, n), append(monitored, m), append(unmonitored, u)
		rMon, rUnmon = append(rMon, m/n), append(rUnmon, u/n)
	}
	b.ReportMetric(median(none), "ns/op-none")
	b.ReportMetric(median(monitored), "ns/op-monitored")
	b.ReportMetric(median(unmonitored), "ns/op-unmonitored")
	b.ReportMetric(median(rMon), "monitored/none")
	b.ReportMetric(median(rUnmon), "unmonitored/none")
}

func loopCost(b *testing.B, do func(string) error, dir string, n int) float64 {
	start := time.Now()
	for range n {
		if err := do(dir); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkReadInto measures the sensor's read path: one record out of the ring buffer and decoded, per
// op. Each op first makes its record by opening a tracked file for writing with raw system calls (which
// allocate nothing), so allocs/op is the reader's alone; ns/read is the time of the read by itself.
func BenchmarkReadInto(b *testing.B) {
	p := loadForBench(b, Options{})
	dir := b.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{dir, file} {
		if err := p.TrackPath(path); err != nil {
			b.Fatal(err)
		}
	}
	name, err := unix.BytePtrFromString(file)
	if err != nil {
		b.Fatal(err)
	}
	cwd := int64(unix.AT_FDCWD)
	atFDCWD := uintptr(cwd) // as the kernel reads a negative int argument
	var (
		ev   Event
		read time.Duration
	)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(name)), unix.O_WRONLY, 0, 0, 0)
		if errno != 0 {
			b.Fatal(errno)
		}
		unix.Syscall(unix.SYS_CLOSE, fd, 0, 0)
		start := time.Now()
		if err := p.ReadInto(&ev); err != nil {
			b.Fatal(err)
		}
		read += time.Since(start)
	}
	b.ReportMetric(float64(read.Nanoseconds())/float64(b.N), "ns/read")
}
