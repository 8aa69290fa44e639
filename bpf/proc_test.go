package bpf

import (
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// TestProcessLifecycle: a child process gives fork, exec (with its executable and arguments) and exit (with
// its code) records, in that order.
func TestProcessLifecycle(t *testing.T) {
	if os.Getenv("FACTSTREAM_CHILD") == "1" {
		os.Exit(3)
	}
	p := loadForTest(t, Options{})
	c := collect(t, p)
	self, err := os.Executable()
	must(t, err)
	cmd := exec.Command(self, "-test.run=^TestProcessLifecycle$", "marker-arg")
	cmd.Env = append(os.Environ(), "FACTSTREAM_CHILD=1")
	if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("child: %v", err)
	}
	child := uint32(cmd.Process.Pid)
	parent := uint32(os.Getpid())
	var kinds []Kind
	c.until(t, "the child's exit", func(e *Event) bool {
		if e.Tgid != child {
			return false
		}
		kinds = append(kinds, e.EventKind())
		switch e.EventKind() {
		case KindFork:
			if e.Proc.ParentTgid != parent {
				t.Errorf("fork: parent %d, want %d", e.Proc.ParentTgid, parent)
			}
		case KindExec:
			if string(e.Name) != self {
				t.Errorf("exec: executable %q, want %q", e.Name, self)
			}
			if args := strings.Split(strings.TrimRight(string(e.Name2), "\x00"), "\x00"); len(args) != 3 || args[2] != "marker-arg" {
				t.Errorf("exec: args %q", args)
			}
		case KindExit:
			if e.Proc.ExitCode>>8 != 3 {
				t.Errorf("exit: code %#x, want 3<<8", e.Proc.ExitCode)
			}
			return true
		}
		return false
	})
	if len(kinds) != 3 || kinds[0] != KindFork || kinds[1] != KindExec {
		t.Errorf("child records %v, want fork, exec, exit", kinds)
	}
}

// TestRecordSizes logs the median and largest record of each kind for typical operations with short names,
// and holds the header's promise: a creation with a short name is under 128 bytes.
func TestRecordSizes(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	root := t.TempDir()
	must(t, p.TrackPath(root))
	for _, tc := range hookCases(p) {
		dir := root + "/" + tc.name
		must(t, os.Mkdir(dir, 0o755))
		tc.op(t, dir, t.TempDir())
	}
	sizes := map[Kind][]int{}
	for _, e := range c.marker(t, root) {
		sizes[e.EventKind()] = append(sizes[e.EventKind()], int(e.Size))
	}
	for k, s := range sizes {
		sort.Ints(s)
		t.Logf("record size %-12v n=%-3d median=%-4d max=%d", k, len(s), s[len(s)/2], s[len(s)-1])
	}
	if s := sizes[KindCreation]; len(s) == 0 || s[len(s)/2] >= 128 {
		t.Errorf("creation records %v: median must be under 128 bytes", s)
	}
}
