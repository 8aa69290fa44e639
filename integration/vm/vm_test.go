package vm

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

const samplePackage = "github.com/factstream/factstream/integration/vm/internal/sample"

// selfTestSeries is the kernel the self-test boots: the first configured series.
func selfTestSeries() string { return Series()[0] }

// TestHarnessReportsEachOutcome boots the sample tests with their failure switched on and checks that a
// pass, a skip and a failure each come back, so the harness is shown able to fail.
func TestHarnessReportsEachOutcome(t *testing.T) {
	k := ensureKernel(t, selfTestSeries())
	bin := BuildTestBinary(t, samplePackage)
	res, err := Boot(t.Context(), k, Options{
		Binary: bin, Args: []string{"-test.v"}, Env: []string{"FACTSTREAM_SAMPLE_FAIL=1"}, Timeout: 3 * time.Minute,
	})
	t.Logf("kernel %s (%s): boot %v, total %v", k.Release, k.Package, res.Boot, res.Total)
	if err != nil {
		t.Fatalf("booting: %v\nconsole:\n%s", err, strings.Join(res.Console, "\n"))
	}
	want := map[string]Status{
		"TestPasses": StatusPass, "TestSkips": StatusSkip, "TestFails": StatusFail,
		"TestLSMListed": StatusPass, "TestCrash": StatusSkip, "TestHangs": StatusSkip,
	}
	got := map[string]Status{}
	for _, tr := range res.Tests {
		got[tr.Name] = tr.Status
	}
	for name, status := range want {
		if got[name] != status {
			t.Errorf("%s: got %q, want %q", name, got[name], status)
		}
	}
	if !res.Exited || res.ExitCode != 1 || !res.Failed() {
		t.Errorf("exit: reported %v, code %d, failed %v; want reported, 1, failed", res.Exited, res.ExitCode, res.Failed())
	}
	if res.Boot <= 0 || res.Boot > res.Total {
		t.Errorf("boot time %v, total %v: want 0 < boot <= total", res.Boot, res.Total)
	}
}

// TestHarnessNoticesKernelPanic crashes the guest kernel from a test and expects ErrNoExit with the
// panic on the console.
func TestHarnessNoticesKernelPanic(t *testing.T) {
	k := ensureKernel(t, selfTestSeries())
	bin := BuildTestBinary(t, samplePackage)
	res, err := Boot(t.Context(), k, Options{
		Binary: bin, Args: []string{"-test.v", "-test.run=TestCrash"}, Env: []string{"FACTSTREAM_SAMPLE_CRASH=1"},
		Timeout: 3 * time.Minute,
	})
	if !errors.Is(err, ErrNoExit) {
		t.Fatalf("got error %v, want ErrNoExit", err)
	}
	console := strings.Join(res.Console, "\n")
	if !strings.Contains(console, "Kernel panic") {
		t.Errorf("console does not show the panic:\n%s", console)
	}
	if len(res.Tests) != 1 || res.Tests[0].Status != StatusUnfinished {
		t.Errorf("tests: got %+v, want TestCrash unfinished", res.Tests)
	}
}

// TestSample runs the sample tests through Run, the way probe tests are run, without the failure.
func TestSample(t *testing.T) {
	k := ensureKernel(t, selfTestSeries())
	bin := BuildTestBinary(t, samplePackage)
	Run(t, k, Options{Binary: bin, Args: []string{"-test.v"}, Modules: []string{"overlay"}, Timeout: 3 * time.Minute})
}

// requireVM skips a test that fetches kernels or boots VMs where that cannot or should not happen.
func requireVM(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("fetches kernels and boots VMs; not with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("fetching kernels with apt needs root")
	}
}

// ensureKernel fetches a kernel for a test, skipping where apt cannot be used.
func ensureKernel(t *testing.T, series string) Kernel {
	t.Helper()
	requireVM(t)
	start := time.Now()
	k, err := EnsureKernel(t.Context(), series)
	if err != nil {
		t.Fatalf("ensuring kernel %s: %v", series, err)
	}
	t.Logf("kernel %s: %s in %v", series, k.Package, time.Since(start).Round(time.Millisecond))
	return k
}

// TestHarnessTimesOut gives the VM less time than a boot takes and expects ErrNoExit saying so.
func TestHarnessTimesOut(t *testing.T) {
	k := ensureKernel(t, selfTestSeries())
	bin := BuildTestBinary(t, samplePackage)
	start := time.Now()
	_, err := Boot(t.Context(), k, Options{Binary: bin, Args: []string{"-test.v"}, Timeout: time.Second})
	if !errors.Is(err, ErrNoExit) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got error %v, want ErrNoExit after a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second+killGrace+5*time.Second {
		t.Errorf("stopping the VM took %v", elapsed)
	}
}

// TestHarnessReportsHang runs a sample test that never ends with a short budget and expects the
// watchdog's ErrHung, the hung test named as running, and its output and the earlier tests in the report.
func TestHarnessReportsHang(t *testing.T) {
	k := ensureKernel(t, selfTestSeries())
	bin := BuildTestBinary(t, samplePackage)
	var finished []string
	res, err := Boot(t.Context(), k, Options{
		Binary: bin, Args: []string{"-test.v", "-test.run=^(TestPasses|TestHangs)$"}, Env: []string{"FACTSTREAM_SAMPLE_HANG=1"},
		TestBudget: 5 * time.Second, Progress: func(tr TestResult) { finished = append(finished, tr.Name) },
	})
	if !errors.Is(err, ErrNoExit) || !errors.Is(err, ErrHung) {
		t.Fatalf("got error %v, want ErrNoExit and ErrHung", err)
	}
	report := failureReport(err, res)
	t.Logf("the report of a hung test:\n%s", report)
	for _, want := range []string{"TestHangs ran", "test running when the VM stopped: TestHangs", "TestPasses", "about to hang"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report does not contain %q", want)
		}
	}
	if len(finished) != 1 || finished[0] != "TestPasses" {
		t.Errorf("progress heard of %v, want [TestPasses]", finished)
	}
}
