package projection

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuMeter measures the CPU time of the benchmark's thread, which on a shared machine says more than the
// wall clock: time spent waiting for a core is not counted.
type cpuMeter struct{ start time.Duration }

func startCPU(b *testing.B) *cpuMeter {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	return &cpuMeter{threadCPU()}
}

// report adds the rate of n items per CPU second of the thread under unit.
func (m *cpuMeter) report(b *testing.B, n int, unit string) {
	if d := threadCPU() - m.start; d > 0 {
		b.ReportMetric(float64(n)/d.Seconds(), unit)
	}
}

func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
