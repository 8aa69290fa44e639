package bpf

import (
	"cmp"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// BenchmarkVerifier loads the probe set this kernel runs with the verifier's statistics on and prints,
// per program, the instructions the verifier processed and the time it took, slowest first; load_ms is
// the whole collection's load (verification included, attaching not).
func BenchmarkVerifier(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("loading probes needs root")
	}
	set := ProbeSet(cmp.Or(os.Getenv("FACTSTREAM_PROBE_SET"), string(ProbeSetTracepoint)))
	spec, _, err := embeddedSpec(set)
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Set: set}
	if err := opts.setDefaults(); err != nil {
		b.Fatal(err)
	}
	if err := configure(spec, set, opts); err != nil {
		b.Skipf("the %s set does not run here: %v", set, err)
	}
	var stats []verifierStat
	var total time.Duration
	for range b.N {
		start := time.Now()
		coll, err := ebpf.NewCollectionWithOptions(spec.Copy(), ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats}})
		if err != nil {
			b.Skipf("the %s set does not load here: %v", set, err)
		}
		total += time.Since(start)
		stats = verifierStats(coll)
		coll.Close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "load_ms")
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s set, %d programs\n%-28s %12s %10s\n", set, len(stats), "program", "insns", "verify_ms")
	var insns, usec int
	for _, s := range stats {
		fmt.Fprintf(&sb, "%-28s %12d %10.1f\n", s.name, s.insns, float64(s.usec)/1000)
		insns, usec = insns+s.insns, usec+s.usec
	}
	fmt.Fprintf(&sb, "%-28s %12d %10.1f", "total", insns, float64(usec)/1000)
	fmt.Println(sb.String()) // b.Log would cut the table short
}

type verifierStat struct {
	name        string
	insns, usec int
}

var (
	processedRE = regexp.MustCompile(`processed (\d+) insns`)
	verifyRE    = regexp.MustCompile(`verification time (\d+) usec`)
)

// verifierStats reads each program's statistics from its verifier log, slowest first.
func verifierStats(coll *ebpf.Collection) []verifierStat {
	var out []verifierStat
	for name, p := range coll.Programs {
		s := verifierStat{name: name}
		if m := processedRE.FindStringSubmatch(p.VerifierLog); m != nil {
			s.insns, _ = strconv.Atoi(m[1])
		}
		if m := verifyRE.FindStringSubmatch(p.VerifierLog); m != nil {
			s.usec, _ = strconv.Atoi(m[1])
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b verifierStat) int { return cmp.Or(b.usec-a.usec, strings.Compare(a.name, b.name)) })
	return out
}
