package vm

import (
	"os"
	"strings"
	"testing"

	"github.com/factstream/factstream/internal/testtime"
)

const probesPackage = "github.com/factstream/factstream/bpf"

// TestLSM runs the bpf package's tests inside each configured kernel (FACTSTREAM_VM_KERNELS, default
// 6.1,6.12), where BPF-LSM programs load, with FACTSTREAM_REQUIRE_LSM=1 so that they fail instead of
// skipping if the kernel refuses them.
func TestLSM(t *testing.T) {
	requireVM(t)
	ok, err := HasTests(t.Context(), probesPackage)
	if err != nil {
		t.Fatalf("looking for tests in %s: %v", probesPackage, err)
	}
	if !ok {
		t.Skipf("%s has no test files yet; nothing to run in the VM", probesPackage)
	}
	bin := BuildTestBinary(t, probesPackage)
	for _, set := range probeSets() {
		runInEachKernel(t, set, Options{
			Binary: bin,
			Args:   append([]string{"-test.v", "-test.count=1", "-test.short"}, runFilter()...),
			Env:    []string{"FACTSTREAM_REQUIRE_LSM=1", "FACTSTREAM_PROBE_SET=" + set, testtime.Env + "=4"},
		})
	}
}

// runInEachKernel runs opts in a VM of each configured kernel, as parallel subtests <series>/<label>.
func runInEachKernel(t *testing.T, label string, opts Options) {
	for _, series := range Series() {
		t.Run(series+"/"+label, func(t *testing.T) {
			t.Parallel()
			Run(t, ensureKernel(t, series), opts)
		})
	}
}

// probeSets are the probe sets the bpf tests run under in a kernel: FACTSTREAM_VM_SETS, by default both.
// (The tracepoint set once seemed to soft-lock 6.1 and crashed 6.12 with "Oops: int3": both were QEMU's
// TCG running stale code on a second vCPU while the kernel patched itself; guests have one vCPU now.)
func probeSets() []string {
	if s := os.Getenv("FACTSTREAM_VM_SETS"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"lsm", "tracepoint"}
}

// runFilter passes FACTSTREAM_VM_RUN on as -test.run, to run some of the tests in the VM while working.
func runFilter() []string {
	if re := os.Getenv("FACTSTREAM_VM_RUN"); re != "" {
		return []string{"-test.run=" + re}
	}
	return nil
}
