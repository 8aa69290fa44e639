package sensor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/internal/loopcost"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// hashLoadEnv names the directory the writer process of BenchmarkHashCPU writes its files in.
const hashLoadEnv = "FACTSTREAM_HASH_LOAD_DIR"

// The writer's load: issue 14's 1,000 files of 4 KiB per second, for hashLoadSeconds.
const (
	hashLoadRate    = 1000
	hashLoadSize    = 4 << 10
	hashLoadSeconds = 5
)

// TestHashLoadWriter is BenchmarkHashCPU's writer, run as a child process: it writes and closes
// hashLoadRate new files of hashLoadSize bytes per second in $FACTSTREAM_HASH_LOAD_DIR. Run directly,
// it does nothing.
func TestHashLoadWriter(t *testing.T) {
	dir := os.Getenv(hashLoadEnv)
	if dir == "" {
		t.Skip("the writer of BenchmarkHashCPU")
	}
	data := make([]byte, hashLoadSize)
	start := time.Now()
	for i := range hashLoadRate * hashLoadSeconds {
		data[0], data[1] = byte(i), byte(i>>8) // every file's own content
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if ahead := time.Until(start.Add(time.Duration(i+1) * time.Second / hashLoadRate)); ahead > 0 {
			time.Sleep(ahead)
		}
	}
}

// BenchmarkHashCPU measures the sensor's own CPU, as a share of one core, while another process writes
// and closes 1,000 monitored files of 4 KiB per second: the real probes reporting releases, the drain
// loop, the hasher and the publisher to JetStream. The JetStream server runs in this process too, so
// its share is in the figure: an upper bound of what a sensor publishing to an external server costs.
// The budget is 5% of one core.
func BenchmarkHashCPU(b *testing.B) {
	probes := loadProbesWith(b, bpf.Options{ReportCloses: true})
	srv := natsservertest.RunServer(b)
	nc, err := srv.Connect(publish.ConnOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var shares []float64
	for b.Loop() {
		dir := b.TempDir()
		reg := prometheus.NewRegistry()
		r := startSensor(b, testConfig(b, dir, dir+"/**"), Deps{Probes: probes, Conn: nc, Registry: reg, Logger: zap.NewNop()})
		before, start := selfCPU(b), time.Now()
		cmd := exec.Command(self, "-test.run=^TestHashLoadWriter$")
		cmd.Env = append(os.Environ(), hashLoadEnv+"="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("writer: %v\n%s", err, out)
		}
		files := float64(hashLoadRate * hashLoadSeconds)
		waitFor(b, 2*time.Minute, fmt.Sprintf("%.0f files hashed", files), func() bool { return counterValue(reg, "factstream_sensor_hash_hashed_total") >= files })
		cpu, wall := selfCPU(b)-before, time.Since(start)
		shares = append(shares, cpu.Seconds()/wall.Seconds())
		r.stop(b)
	}
	b.ReportMetric(100*loopcost.Median(shares), "%core")
	b.ReportMetric(hashLoadRate, "files/s")
}

// selfCPU is this process's CPU time so far, user and system.
func selfCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// counterValue is the sum of a counter's samples in reg.
func counterValue(reg *prometheus.Registry, name string) float64 {
	mfs, _ := reg.Gather()
	var v float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}
