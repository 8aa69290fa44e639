package vm

import (
	"testing"
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
	for _, series := range Series() {
		t.Run(series, func(t *testing.T) {
			t.Parallel()
			k := ensureKernel(t, series)
			Run(t, k, Options{
				Binary: bin,
				Args:   []string{"-test.v", "-test.count=1"},
				Env:    []string{"FACTSTREAM_REQUIRE_LSM=1"},
			})
		})
	}
}
