package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/loopcost"
)

// BenchmarkUpCost is BenchmarkProbeCost (bpf) for the whole `factstream up` as a user runs it: sensor,
// embedded NATS and resolver, printing every event as JSON. Rounds alternate: each measures both loops
// without factstream, then starts `up` watching one directory and measures them on that directory and
// on an unmonitored one, then stops it. The cost is the CPU time of the thread making the calls
// (internal/loopcost), and the figures are median ratios to the run without factstream.
func BenchmarkUpCost(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("loading probes needs root")
	}
	const rounds, perRound = 5, 5000
	root := b.TempDir()
	mon, unmon, data := filepath.Join(root, "mon"), filepath.Join(root, "unmon"), filepath.Join(root, "data")
	for _, d := range []string{mon, unmon, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	ops := loopcost.Ops()
	rMon, rUnmon := make([][]float64, len(ops)), make([][]float64, len(ops))
	cost := func(op loopcost.Op, dir string) float64 {
		ns, err := loopcost.PerOp(op.Do, dir, perRound)
		if err != nil {
			b.Fatal(err)
		}
		return ns
	}
	for round := range rounds * b.N {
		none := make([]float64, len(ops))
		for i, op := range ops {
			none[i] = cost(op, unmon)
		}
		stop := startUpForCost(b, mon, filepath.Join(data, fmt.Sprint(round)))
		for i, op := range ops {
			m, u := cost(op, mon), cost(op, unmon)
			rMon[i], rUnmon[i] = append(rMon[i], m/none[i]), append(rUnmon[i], u/none[i])
		}
		stop()
	}
	for i, op := range ops {
		b.ReportMetric(loopcost.Median(rMon[i]), op.Name+"-monitored/none")
		b.ReportMetric(loopcost.Median(rUnmon[i]), op.Name+"-unmonitored/none")
	}
}

// startUpForCost starts `factstream up --json` on mon with its own data directory and returns what stops
// it (SIGINT, then waiting for it to exit).
func startUpForCost(b *testing.B, mon, data string) (stop func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	ready := filepath.Join(data, "ready")
	if err := os.MkdirAll(data, 0o755); err != nil {
		b.Fatal(err)
	}
	up, _, upErr, exited := startUp(b, ctx, "auto", "--json", "--path", mon, "--path", mon+"/**", "--data-dir", data,
		"--ready-file", ready, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(b)), "--log-level", "warn")
	return func() {
		defer cancel()
		_ = up.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				b.Fatalf("up after SIGINT: %v\n%s", err, upErr.String())
			}
		case <-ctx.Done():
			b.Fatalf("up did not stop after SIGINT:\n%s", upErr.String())
		}
	}
}
