package hasher

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// handleOf lays out 32-bit words as a filesystem would, in the host's byte order.
func handleOf(words ...uint32) []byte {
	b := make([]byte, 4*len(words))
	for i, w := range words {
		binary.NativeEndian.PutUint32(b[4*i:], w)
	}
	return b
}

func TestLearnLayout(t *testing.T) {
	const big = 0x1_0000_0007 // an inode number over 32 bits
	for _, tc := range []struct {
		name    string
		samples []sample
		want    layout // template ignored; checked by building
		wantErr bool
	}{
		{name: "ext4 ino32 gen32", samples: []sample{
			{handleType: 1, handle: handleOf(12, 0xdeadbeef), ino: 12, gen: 0xdeadbeef, genKnown: true},
			{handleType: 1, handle: handleOf(13, 0x1234), ino: 13, gen: 0x1234, genKnown: true},
		}, want: layout{handleType: 1, inoLo: 0, inoHi: -1, gen: 1}},
		{name: "ext4 gen zero", samples: []sample{
			{handleType: 1, handle: handleOf(2, 0), ino: 2, gen: 0, genKnown: true},
		}, want: layout{handleType: 1, inoLo: 0, inoHi: -1, gen: 1}},
		{name: "tmpfs without the ioctl", samples: []sample{
			{handleType: 1, handle: handleOf(0xaaaa, 5, 0), ino: 5},
			{handleType: 1, handle: handleOf(0xbbbb, 6, 0), ino: 6},
		}, want: layout{handleType: 1, inoLo: 1, inoHi: 2, gen: 0}},
		{name: "tmpfs, one sample: generation unknown", samples: []sample{
			{handleType: 1, handle: handleOf(0xaaaa, 5, 0), ino: 5},
		}, wantErr: true},
		{name: "btrfs with a subvolume id", samples: []sample{
			{handleType: 0x4d, handle: handleOf(257, 0, 5, 0, 7), ino: 257, gen: 7, genKnown: true},
			{handleType: 0x4d, handle: handleOf(258, 0, 5, 0, 9), ino: 258, gen: 9, genKnown: true},
		}, want: layout{handleType: 0x4d, inoLo: 0, inoHi: 1, gen: 4}},
		{name: "xfs 64-bit inodes", samples: []sample{
			{handleType: 0x81, handle: handleOf(7, 1, 42), ino: big, gen: 42, genKnown: true},
		}, want: layout{handleType: 0x81, inoLo: 0, inoHi: 1, gen: 2}},
		{name: "samples of another type are ignored", samples: []sample{
			{handleType: 1, handle: handleOf(12, 99), ino: 12, gen: 99, genKnown: true},
			{handleType: 2, handle: handleOf(13, 98, 2, 0), ino: 13, gen: 98, genKnown: true},
		}, want: layout{handleType: 1, inoLo: 0, inoHi: -1, gen: 1}},
		{name: "inode number not in the handle", samples: []sample{
			{handleType: 1, handle: handleOf(12, 99), ino: 14, gen: 99, genKnown: true},
		}, wantErr: true},
		{name: "a varying word that is neither", samples: []sample{
			{handleType: 1, handle: handleOf(12, 99, 1), ino: 12, gen: 99, genKnown: true},
			{handleType: 1, handle: handleOf(13, 98, 2), ino: 13, gen: 98, genKnown: true},
		}, wantErr: true},
		{name: "not whole words", samples: []sample{
			{handleType: 1, handle: []byte{12, 0, 0, 0, 99, 0}, ino: 12, gen: 99, genKnown: true},
		}, wantErr: true},
		{name: "no samples", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := learnLayout(tc.samples)
			if tc.wantErr {
				if !errors.Is(err, ErrNoLayout) {
					t.Fatalf("learnLayout: %+v, %v; want ErrNoLayout", l, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("learnLayout: %v", err)
			}
			if l.handleType != tc.want.handleType || l.inoLo != tc.want.inoLo || l.inoHi != tc.want.inoHi || l.gen != tc.want.gen {
				t.Fatalf("layout %+v, want %+v", l, tc.want)
			}
			checkRebuilds(t, l, tc.samples)
		})
	}
}

// TestLayoutBuild builds handles of files that were not samples.
func TestLayoutBuild(t *testing.T) {
	btrfs, err := learnLayout([]sample{
		{handleType: 0x4d, handle: handleOf(257, 0, 5, 0, 7), ino: 257, gen: 7, genKnown: true},
		{handleType: 0x4d, handle: handleOf(258, 0, 5, 0, 9), ino: 258, gen: 9, genKnown: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := btrfs.build(0x2_0000_0300, 11); !ok || !bytes.Equal(b, handleOf(0x300, 2, 5, 0, 11)) {
		t.Fatalf("btrfs handle of a new file: %x %v, want the subvolume id kept", b, ok)
	}
	ext4, err := learnLayout([]sample{{handleType: 1, handle: handleOf(12, 3), ino: 12, gen: 3, genKnown: true}})
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := ext4.build(1<<32, 1); ok {
		t.Fatalf("ext4 handle of a 33-bit inode number: %x, want none", b)
	}
}

// checkRebuilds checks that l rebuilds every sample of its type and length exactly.
func checkRebuilds(t *testing.T, l layout, samples []sample) {
	t.Helper()
	for _, s := range samples {
		gen, ok := l.generation(s.handleType, s.handle)
		if !ok {
			continue // another type
		}
		if s.genKnown && gen != s.gen {
			t.Fatalf("generation of %x read as %d, want %d", s.handle, gen, s.gen)
		}
		if b, ok := l.build(s.ino, gen); !ok || !bytes.Equal(b, s.handle) {
			t.Fatalf("layout %+v builds %x for inode %d, want %x", l, b, s.ino, s.handle)
		}
	}
}

// FuzzLearnLayout learns from two handles cut from arbitrary bytes: it must not panic, and a layout it
// returns must rebuild both samples.
func FuzzLearnLayout(f *testing.F) {
	f.Add(append(handleOf(12, 0xdeadbeef), handleOf(13, 0x1234)...), uint64(12), uint64(13), uint32(0xdeadbeef), uint32(0x1234), true)
	f.Add(append(handleOf(0xaaaa, 5, 0), handleOf(0xbbbb, 6, 0)...), uint64(5), uint64(6), uint32(0), uint32(0), false)
	f.Add(append(handleOf(257, 0, 5, 0, 7), handleOf(258, 0, 5, 0, 9)...), uint64(257), uint64(258), uint32(7), uint32(9), true)
	f.Fuzz(func(t *testing.T, data []byte, ino1, ino2 uint64, gen1, gen2 uint32, known bool) {
		if len(data) > 2*maxHandleBytes+8 {
			return
		}
		half := len(data) / 2
		samples := []sample{
			{handleType: 1, handle: data[:half], ino: ino1, gen: gen1, genKnown: known},
			{handleType: 1, handle: data[half : 2*half], ino: ino2, gen: gen2, genKnown: known},
		}
		l, err := learnLayout(samples)
		if err != nil {
			return
		}
		checkRebuilds(t, l, samples)
	})
}
