package protocol

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ConfigPath is where the harness places the configuration inside the initramfs.
const ConfigPath = "/vm.json"

// OutputDevice is the guest device of the output channel: the second serial port, which kernel messages do
// not reach (the kernel console is ttyS0).
const OutputDevice = "/dev/ttyS1"

// Marker starts every line init writes to the output channel for the harness; everything else on the
// channel is the program's own stdout and stderr.
const Marker = "@@factstream-vm@@ "

// Kinds of marked lines.
const (
	KindStart = "start" // init is running: the first line it writes
	KindLog   = "log"   // a diagnostic from init (mounts, modules)
	KindError = "error" // init could not do what the configuration asked
	KindExit  = "exit"  // the program ended; the payload is its exit code (-1: killed by a signal)
	KindScale = "scale" // how many times slower than the host the guest runs; the payload starts with the factor
)

// Config is what init reads from ConfigPath.
type Config struct {
	// Path is the program to run, absolute inside the guest.
	Path string `json:"path"`
	// Args are the program's arguments, without argv[0].
	Args []string `json:"args,omitempty"`
	// Env is the program's environment, "KEY=value".
	Env []string `json:"env,omitempty"`
	// Dir is the program's working directory; "" means /tmp.
	Dir string `json:"dir,omitempty"`
	// Modules are kernel module files inside the guest, loaded in this order before the program starts.
	Modules []string `json:"modules,omitempty"`
	// HostCalibration is how long package calibrate's work took on the host; init times the same work,
	// reports the ratio in a KindScale line and passes it to the program as its tests' time scale.
	HostCalibration time.Duration `json:"host_calibration,omitempty"`
}

// Line formats one marked line, newline included.
func Line(kind, payload string) string {
	if payload == "" {
		return Marker + kind + "\n"
	}
	return Marker + kind + " " + strings.ReplaceAll(payload, "\n", " | ") + "\n"
}

// ExitLine formats the line that reports the program's exit code.
func ExitLine(code int) string {
	return Line(KindExit, strconv.Itoa(code))
}

// Parse splits a marked line into its kind and payload; ok is false for a line that is not marked.
func Parse(line string) (kind, payload string, ok bool) {
	rest, found := strings.CutPrefix(line, Marker)
	if !found {
		return "", "", false
	}
	kind, payload, _ = strings.Cut(strings.TrimRight(rest, "\r\n"), " ")
	return kind, payload, true
}

// ParseExit reads the exit code from the payload of an exit line.
func ParseExit(payload string) (int, error) {
	code, err := strconv.Atoi(strings.TrimSpace(payload))
	if err != nil {
		return 0, fmt.Errorf("reading exit code %q: %w", payload, err)
	}
	return code, nil
}

// ScaleLine formats the line that reports the guest's time scale and the two calibration times.
func ScaleLine(scale float64, guest, host time.Duration) string {
	return Line(KindScale, fmt.Sprintf("%.2f guest %v host %v", scale, guest.Round(time.Millisecond), host.Round(time.Microsecond)))
}

// ParseScale reads the factor from the payload of a scale line.
func ParseScale(payload string) (float64, error) {
	word, _, _ := strings.Cut(strings.TrimSpace(payload), " ")
	f, err := strconv.ParseFloat(word, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("reading time scale %q: want a positive number", payload)
	}
	return f, nil
}
