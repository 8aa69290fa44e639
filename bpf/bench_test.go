package bpf

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/factstream/factstream/internal/loopcost"
)

// BenchmarkProbeCost prints, for the probe set this machine runs, the cost per operation of two tight
// loops (the CPU time of the thread making the calls, see internal/loopcost) with the probes attached on a
// monitored path, on an unmonitored path, and without probes, as ratios from the same run (rounds
// alternate, and the median ratio is reported).
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
	for _, op := range loopcost.Ops() {
		b.Run(string(p.Set())+"/"+op.Name, func(b *testing.B) {
			measureCost(b, p, op.Do, mon, unmon)
		})
	}
	if p.tp.SysEnterCalls != nil {
		for _, op := range loopcost.Ops() {
			b.Run(string(p.Set())+"/"+op.Name+"/dispatch-only", func(b *testing.B) {
				measureDispatchFloor(b, p, op.Do, unmon)
			})
		}
	}
	for _, op := range loopcost.Ops() {
		for _, dir := range []struct{ name, path string }{{"monitored", mon}, {"unmonitored", unmon}} {
			printProgramStats(b, p, op.Name+", "+dir.name, op.Do, dir.path)
		}
	}
}

// printProgramStats runs one loop with the kernel's BPF statistics on (kernel.bpf_stats_enabled, which
// itself costs, so the ratios above are measured without it) and prints where the probes' time went: per
// program, the runs per operation and the nanoseconds per run and per operation, costliest first.
func printProgramStats(b *testing.B, p *Probes, what string, do func(string) error, dir string) {
	const n = 5000
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Logf("no BPF statistics here: %v", err)
		return
	}
	defer stats.Close()
	before := programStats(b, p)
	loopCost(b, do, dir, n)
	after := programStats(b, p)
	type row struct {
		name        string
		runs, nsRun float64
		nsOp        float64
	}
	var rows []row
	var total float64
	for name, a := range after {
		d := a.RunCount - before[name].RunCount
		if d == 0 {
			continue
		}
		rt := float64((a.Runtime - before[name].Runtime).Nanoseconds())
		rows = append(rows, row{name, float64(d) / n, rt / float64(d), rt / n})
		total += rt / n
	}
	slices.SortFunc(rows, func(x, y row) int { return cmp.Compare(y.nsOp, x.nsOp) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s set, %s: BPF time per operation by program\n%-24s %8s %10s %10s\n", p.Set(), what, "program", "runs/op", "ns/run", "ns/op")
	for _, r := range rows {
		fmt.Fprintf(&sb, "%-24s %8.2f %10.0f %10.0f\n", r.name, r.runs, r.nsRun, r.nsOp)
	}
	fmt.Fprintf(&sb, "%-24s %8s %10s %10.0f\n", "total", "", "", total)
	fmt.Println(sb.String())
}

func programStats(b *testing.B, p *Probes) map[string]ebpf.ProgramStats {
	out := map[string]ebpf.ProgramStats{}
	for name, prog := range p.coll.Programs {
		st, err := prog.Stats()
		if err != nil {
			b.Fatalf("statistics of %s: %v", name, err)
		}
		out[name] = *st
	}
	return out
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
	b.ReportMetric(loopcost.Median(none), "ns/op-none")
	b.ReportMetric(loopcost.Median(monitored), "ns/op-monitored")
	b.ReportMetric(loopcost.Median(unmonitored), "ns/op-unmonitored")
	b.ReportMetric(loopcost.Median(rMon), "monitored/none")
	b.ReportMetric(loopcost.Median(rUnmon), "unmonitored/none")
}

// measureDispatchFloor measures the tracepoint set's floor: the two dispatchers attached with no handler
// in their tables, so that every system call pays only for entering sys_enter and sys_exit and a tail call
// that finds nothing. No handler can cost less than that; it is reported as a ratio to no probes at all.
func measureDispatchFloor(b *testing.B, p *Probes, do func(string) error, dir string) {
	const rounds, perRound = 7, 5000
	for _, table := range []*ebpf.Map{p.tp.SysEnterCalls, p.tp.SysExitCalls} {
		for _, nr := range syscallNumbers {
			if err := table.Delete(nr); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				b.Fatal(err)
			}
		}
	}
	defer func() {
		if err := fillSyscallTables(p.coll, p.tp); err != nil {
			b.Fatal(err)
		}
	}()
	var ratios []float64
	for range rounds {
		if err := p.detachAll(); err != nil {
			b.Fatal(err)
		}
		n := loopCost(b, do, dir, perRound)
		if err := p.attachAll(); err != nil {
			b.Fatal(err)
		}
		ratios = append(ratios, loopCost(b, do, dir, perRound)/n)
	}
	b.ReportMetric(loopcost.Median(ratios), "dispatch/none")
	printProgramStats(b, p, b.Name()+", handler tables empty", do, dir)
}

func loopCost(b *testing.B, do func(string) error, dir string, n int) float64 {
	ns, err := loopcost.PerOp(do, dir, n)
	if err != nil {
		b.Fatal(err)
	}
	return ns
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
