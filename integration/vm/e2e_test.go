package vm

import (
	"testing"

	"github.com/factstream/factstream/internal/testtime"
)

const cliPackage = "github.com/factstream/factstream/cmd/factstream"

// TestEndToEnd runs the whole product inside each configured kernel under the LSM set: the
// cmd/factstream end-to-end test starts `factstream up --json` (embedded NATS, sensor, resolver) and
// `factstream tail --json`, performs every row of BEHAVIOUR.md's example table with busybox's commands
// (a container's write included), and compares the JSON lines field by field. This is the LSM half of
// the end-to-end proof; the tracepoint half runs on the host's own kernel in the unit tests.
func TestEndToEnd(t *testing.T) {
	requireVM(t)
	busybox, err := EnsureBusybox(t.Context())
	if err != nil {
		t.Fatalf("fetching busybox for the guest: %v", err)
	}
	runInEachKernel(t, "lsm", Options{
		Binary:    BuildTestBinary(t, cliPackage),
		Args:      []string{"-test.v", "-test.count=1", "-test.run=^(TestUpEndToEnd|TestUpContentEndToEnd|TestUpDriftEndToEnd)$", "-test.timeout=40m"},
		Env:       []string{"FACTSTREAM_E2E_PROBES=lsm", testtime.Env + "=8"},
		Files:     map[string]string{GuestBusybox: busybox},
		MemoryMiB: 2048,
	})
}
