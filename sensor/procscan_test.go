package sensor

import (
	"os"
	"slices"
	"testing"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
)

// TestProcessScan: before its first file scan the sensor publishes an exec event from the scan for each
// process the kernel lists, keyed as the kernel keys it and completed from /proc; a process that is gone
// by then is still reported, without exe or arguments.
func TestProcessScan(t *testing.T) {
	probes := newFakeProbes()
	self := bpf.ProcessInfo{Tgid: uint32(os.Getpid()), Start: 4242, ParentTgid: uint32(os.Getppid()), ParentStart: 17,
		Uid: uint32(os.Geteuid()), Loginuid: 1000}
	copy(self.Comm[:], []int8{'g', 'o'})
	gone := bpf.ProcessInfo{Tgid: 1 << 30, Start: 5}
	probes.procs = []bpf.ProcessInfo{self, gone}
	pub := &capture{}
	r := startSensor(t, testConfig(t, t.TempDir()+"/**"), Deps{Probes: probes, Publisher: pub})
	r.stop(t)

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args, err := os.ReadFile("/proc/self/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var execs []schemas.RawEvent
	scanSeq := uint64(0)
	for _, ev := range pub.events(t) {
		switch ev.Kind {
		case schemas.KindExec:
			execs = append(execs, ev)
		case schemas.KindScanBegin:
			scanSeq = ev.Seq
		}
	}
	if len(execs) != 2 {
		t.Fatalf("%d exec events, want 2", len(execs))
	}
	slices.SortFunc(execs, func(a, b schemas.RawEvent) int { return int(a.Seq) - int(b.Seq) })
	if execs[1].Seq > scanSeq {
		t.Errorf("the process scan (up to sequence %d) came after the file scan (%d)", execs[1].Seq, scanSeq)
	}
	got := execs[0]
	if got.Probe != schemas.ProbeScan || got.Proc.Tgid != self.Tgid || got.Proc.Start != 4242 || got.PPid != self.ParentTgid ||
		got.ParentStart != 17 || got.Proc.LoginUID != 1000 || string(got.Proc.Comm) != "go" {
		t.Errorf("this process: %+v", got)
	}
	if string(got.Exe) != exe || !slices.Equal(got.Args, args[:min(len(args), maxScanArgs)]) {
		t.Errorf("this process: exe %q args %q; want %q and %q", got.Exe, got.Args, exe, args)
	}
	if g := execs[1]; g.Proc.Tgid != gone.Tgid || len(g.Exe) != 0 || len(g.Args) != 0 || len(g.Cgroup) != 0 {
		t.Errorf("the process that is gone: %+v", g)
	}
}

func TestUnifiedCgroup(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"0::/system.slice/docker-abc.scope\n", "/system.slice/docker-abc.scope"},
		{"12:memory:/x\n1:name=systemd:/y\n0::/user.slice\n", "/user.slice"},
		{"12:memory:/x\n", ""},
		{"", ""},
	} {
		if got := string(unifiedCgroup([]byte(tc.file))); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.file, got, tc.want)
		}
	}
}
