package seqstore

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"
)

func TestRestartNeverReuses(t *testing.T) {
	dir := t.TempDir()
	seen := map[uint64]bool{}
	for run := range 5 {
		s, err := Open(dir, "boot-a", Options{Blocks: [numCounters]uint64{7, 3, 2}})
		if err != nil {
			t.Fatal(err)
		}
		for range 10 + run*3 {
			n, err := s.Next(Events, 1)
			if err != nil {
				t.Fatal(err)
			}
			if seen[n] {
				t.Fatalf("run %d: %d handed out twice", run, n)
			}
			seen[n] = true
		}
		if run%2 == 0 { // half the runs end without Close, as a SIGKILL would
			s.f.(*os.File).Close()
		} else if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseContinuesExactly: after a Close, the next run of the same boot hands out the very next number
// of every counter, so a clean restart leaves no hole for consumers to report.
func TestCloseContinuesExactly(t *testing.T) {
	dir := t.TempDir()
	want := [numCounters]uint64{1, 1, 1}
	for run := range 3 {
		s, err := Open(dir, "boot-a", Options{Blocks: [numCounters]uint64{7, 3, 2}})
		if err != nil {
			t.Fatal(err)
		}
		for c := range numCounters {
			for range 5 + run {
				n, err := s.Next(c, 1)
				if err != nil {
					t.Fatal(err)
				}
				if n != want[c] {
					t.Fatalf("run %d: %v handed out %d, want %d", run, c, n, want[c])
				}
				want[c]++
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewBootStartsAtOne(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "boot-a", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Next(Batches, 10); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(dir, "boot-b", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.Next(Batches, 1); n != 1 {
		t.Errorf("first batch of a new boot = %d, want 1", n)
	}
	if n := s.Peek(Events); n != 1 {
		t.Errorf("next event of a new boot = %d, want 1", n)
	}
}

func TestCorruptFileRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("garbage that is no slot"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, "boot-a", Options{})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open on a corrupt file = %v, want ErrCorrupt", err)
	}
}

func TestBadBootID(t *testing.T) {
	if _, err := Open(t.TempDir(), "", Options{}); !errors.Is(err, ErrBootID) {
		t.Fatalf("empty boot id: %v", err)
	}
}

// crashFile is a file whose writes become durable only at Sync. A crash keeps what was synced plus,
// at random, a prefix of the unsynced writes, the last one possibly torn.
type crashFile struct {
	durable []byte
	pending []write
}

type write struct {
	off  int64
	data []byte
}

func (f *crashFile) view() []byte {
	b := append([]byte(nil), f.durable...)
	for _, w := range f.pending {
		b = apply(b, w)
	}
	return b
}

func apply(b []byte, w write) []byte {
	if end := int(w.off) + len(w.data); end > len(b) {
		b = append(b, make([]byte, end-len(b))...)
	}
	copy(b[w.off:], w.data)
	return b
}

func (f *crashFile) ReadAt(p []byte, off int64) (int, error) {
	b := f.view()
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *crashFile) WriteAt(p []byte, off int64) (int, error) {
	f.pending = append(f.pending, write{off, append([]byte(nil), p...)})
	return len(p), nil
}

func (f *crashFile) Sync() error {
	f.durable = f.view()
	f.pending = nil
	return nil
}

func (f *crashFile) Close() error { return nil }

// crash returns the file as the disk holds it after a crash at this moment.
func (f *crashFile) crash(t *rapid.T) *crashFile {
	b := append([]byte(nil), f.durable...)
	keep := rapid.IntRange(0, len(f.pending)).Draw(t, "unsynced writes kept")
	for i, w := range f.pending[:keep] {
		if i == keep-1 {
			w.data = w.data[:rapid.IntRange(0, len(w.data)).Draw(t, "torn length")]
		}
		b = apply(b, w)
	}
	return &crashFile{durable: b}
}

// TestCrashNeverReuses runs random sequences of reservations with crashes at random points (losing
// unsynced writes, tearing the last one) and checks that no number of a counter is handed out twice
// within a boot.
func TestCrashNeverReuses(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		blocks := [numCounters]uint64{
			rapid.Uint64Range(1, 8).Draw(t, "event block"),
			rapid.Uint64Range(1, 4).Draw(t, "batch block"),
			rapid.Uint64Range(1, 3).Draw(t, "epoch block"),
		}
		f := &crashFile{}
		s, err := open(f, "boot", Options{Blocks: blocks})
		if err != nil {
			t.Fatal(err)
		}
		used := [numCounters]map[uint64]bool{{}, {}, {}}
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		for range steps {
			if rapid.IntRange(0, 9).Draw(t, "op") == 0 {
				f = f.crash(t)
				if s, err = open(f, "boot", Options{Blocks: blocks}); err != nil {
					t.Fatalf("reopening after a crash: %v", err)
				}
				continue
			}
			c := Counter(rapid.IntRange(0, int(numCounters)-1).Draw(t, "counter"))
			n := rapid.Uint64Range(1, 10).Draw(t, "n")
			first, err := s.Next(c, n)
			if err != nil {
				t.Fatal(err)
			}
			for v := first; v < first+n; v++ {
				if used[c][v] {
					t.Fatalf("%v %d handed out twice", c, v)
				}
				used[c][v] = true
			}
		}
	})
}

func BenchmarkNext(b *testing.B) {
	s, err := Open(b.TempDir(), "boot", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if _, err := s.Next(Events, 1); err != nil {
			b.Fatal(err)
		}
	}
}
