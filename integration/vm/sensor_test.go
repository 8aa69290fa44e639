package vm

import (
	"testing"

	"github.com/factstream/factstream/internal/testtime"
)

const sensorPackage = "github.com/factstream/factstream/sensor"

// TestSensorKill runs the sensor package's kill test inside each configured kernel under the LSM set:
// a sensor with pinned probes is killed with SIGKILL while files change, the kernel records on with no
// sensor, and a second sensor continues the same probes; every kernel record must then be in FACT_RAW
// exactly once, delivered or counted by a loss event. (The tracepoint half runs on the host.)
func TestSensorKill(t *testing.T) {
	requireVM(t)
	runInEachKernel(t, "lsm", Options{
		Binary: BuildTestBinary(t, sensorPackage),
		Args:   []string{"-test.v", "-test.count=1", "-test.run=^TestKillPinnedProbes$", "-test.timeout=40m"},
		// At least 4: loading the LSM set in a child sensor takes tens of seconds under TCG, more than
		// the integer calibration alone predicts.
		Env: []string{"FACTSTREAM_REQUIRE_LSM=1", "FACTSTREAM_PROBE_SET=lsm", testtime.Env + "=4"},
	})
}
