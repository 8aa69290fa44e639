package vm

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// envKernels chooses the kernel series the VM tests boot, e.g. "6.1,6.12".
const envKernels = "FACTSTREAM_VM_KERNELS"

// envStream, set to 1, makes Run copy the program's output to stderr as it arrives, each line prefixed
// with the kernel release: for watching a long VM run.
const envStream = "FACTSTREAM_VM_STREAM"

// DefaultSeries are the kernel series booted when FACTSTREAM_VM_KERNELS is unset.
const DefaultSeries = "6.1,6.12"

// deadlineMargin is kept free before the test binary's own deadline so that a timed-out VM is reported
// rather than the whole binary panicking.
const deadlineMargin = 30 * time.Second

// Series returns the kernel series to test: FACTSTREAM_VM_KERNELS, else DefaultSeries.
func Series() []string {
	v := os.Getenv(envKernels)
	if strings.TrimSpace(v) == "" {
		v = DefaultSeries
	}
	var series []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			series = append(series, s)
		}
	}
	return series
}

// Run boots k with opts (see Boot) and reports every top-level test of the VM as a subtest of t: a failed
// test fails, a skipped one skips with its reason, each with its output logged. While the VM runs, a line
// is logged as each of its tests ends (shown at once under go test -v). A VM that ends without the
// program's exit fails t with a report that explains itself: the test that was running, how long each
// earlier test took, the end of the program's output, the kernel console and QEMU's messages. It logs
// the kernel package and the times, and returns the Result for callers that report more.
func Run(t *testing.T, k Kernel, opts Options) Result {
	t.Helper()
	opts = opts.withDefaults()
	if d, ok := t.Deadline(); ok && time.Until(d)-deadlineMargin < opts.Timeout {
		opts.Timeout = max(time.Until(d)-deadlineMargin, time.Second)
	}
	t.Logf("kernel %s from %s", k.Release, k.Package)
	if opts.Stream == nil && os.Getenv(envStream) == "1" {
		opts.Stream = prefixWriter{w: os.Stderr, prefix: "[" + k.Release + "] "}
	}
	if opts.Progress == nil {
		opts.Progress = func(tr TestResult) {
			t.Logf("in the VM: --- %s: %s (%v)", strings.ToUpper(string(tr.Status)), tr.Name, tr.Elapsed)
		}
	}
	res, err := Boot(t.Context(), k, opts)
	t.Logf("kernel %s: boot to init %v, VM total %v, time scale %.2f, exit code %d (reported: %v)",
		k.Release, res.Boot.Round(time.Millisecond), res.Total.Round(time.Millisecond), res.Scale, res.ExitCode, res.Exited)
	if len(res.InitLog) > 0 {
		t.Logf("init:\n%s", strings.Join(res.InitLog, "\n"))
	}
	report(t, res)
	if len(res.Tests) == 0 && res.Exited {
		t.Logf("no tests ran in the VM; the program said:\n%s", strings.Join(res.Other, "\n"))
	}
	if err != nil {
		t.Error(failureReport(err, res))
	}
	return res
}

// failureReport explains a VM that did not end with the program's exit code.
func failureReport(err error, res Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v\n", err)
	if res.Running != "" {
		fmt.Fprintf(&b, "test running when the VM stopped: %s\n", res.Running)
	}
	fmt.Fprintf(&b, "tests before it:\n")
	for _, tr := range res.Tests {
		if tr.Status != StatusUnfinished {
			fmt.Fprintf(&b, "  %-50s %-4s %v\n", tr.Name, tr.Status, tr.Elapsed)
		}
	}
	fmt.Fprintf(&b, "last %d lines of the program's output:\n%s\n", len(res.Output), strings.Join(res.Output, "\n"))
	fmt.Fprintf(&b, "last %d lines of the kernel console:\n%s\n", len(res.Console), strings.Join(res.Console, "\n"))
	fmt.Fprintf(&b, "QEMU said:\n%s", strings.Join(res.QEMU, "\n"))
	return b.String()
}

// report turns the VM's tests into subtests of t and fails t for a failure outside any test.
func report(t *testing.T, res Result) {
	t.Helper()
	failed := false
	for _, tr := range res.Tests {
		failed = failed || tr.Status == StatusFail || tr.Status == StatusUnfinished
		t.Run(tr.Name, func(t *testing.T) { reportTest(t, tr) })
	}
	if res.Exited && res.ExitCode != 0 && !failed {
		t.Errorf("the test binary exited with %d and no test failed; its other output:\n%s",
			res.ExitCode, strings.Join(res.Other, "\n"))
	}
}

func reportTest(t *testing.T, tr TestResult) {
	out := tr.Output
	if tr.Status == StatusSkip && len(out) > 0 {
		// The skip reason is the test's last line; the rest is logged as usual.
		defer t.Skip(strings.TrimSpace(out[len(out)-1]))
		out = out[:len(out)-1]
	}
	if len(out) > 0 {
		t.Logf("in the VM (%v):\n%s", tr.Elapsed, strings.Join(out, "\n"))
	} else {
		t.Logf("in the VM: %v", tr.Elapsed)
	}
	switch tr.Status {
	case StatusFail:
		t.Fail()
	case StatusSkip:
		if len(tr.Output) == 0 {
			t.SkipNow()
		}
	case StatusUnfinished:
		t.Error("no result: the test binary or the VM stopped while this test ran")
	}
}

// prefixWriter prefixes every write, which Boot makes one whole line, so that the output of VMs running
// in parallel stays readable.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix+string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}
