package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"
)

// TestWireSizes pins the sizes of the generated record structs: the C and Go sides must agree.
func TestWireSizes(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"event_hdr", unsafe.Sizeof(Header{}), 112},
		{"ext_move", unsafe.Sizeof(ExtMove{}), 24},
		{"ext_mode", unsafe.Sizeof(ExtMode{}), 8},
		{"ext_owner", unsafe.Sizeof(ExtOwner{}), 16},
		{"ext_unlink", unsafe.Sizeof(ExtUnlink{}), 8},
		{"ext_mount", unsafe.Sizeof(ExtMount{}), 8},
		{"ext_proc", unsafe.Sizeof(ExtProc{}), 16},
		{"proc_info", unsafe.Sizeof(ProcessInfo{}), 64},
	} {
		if tc.got != tc.want {
			t.Errorf("sizeof(%s) = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// golden is a rename record as the kernel writes it: header, ext_move, name "b", name2 "a", no path.
func golden() []byte {
	le := binary.LittleEndian
	b := make([]byte, 112)
	b[0], b[1], b[2], b[3] = uint8(KindRename), uint8(MonitoredByParent), 1, uint8(FlagRenameReplace)
	le.PutUint16(b[4:], 112+24+2)    // size
	le.PutUint16(b[6:], 1)           // cpu
	le.PutUint64(b[8:], 42)          // seq
	le.PutUint64(b[16:], 1e9)        // time
	le.PutUint64(b[24:], 1001)       // ino
	le.PutUint64(b[32:], 1000)       // parent
	le.PutUint32(b[40:], 2049)       // dev
	le.PutUint32(b[44:], 77)         // tgid
	le.PutUint32(b[48:], 78)         // pid
	le.PutUint32(b[60:], 0xffffffff) // loginuid
	le.PutUint16(b[84:], 24)         // ext_len
	le.PutUint16(b[86:], 1)          // name_len
	le.PutUint16(b[88:], 1)          // name2_len
	le.PutUint16(b[90:], 0)          // path_len
	le.PutUint32(b[92:], 0o100644)   // mode
	copy(b[96:], "mv")               // comm
	ext := make([]byte, 24)
	le.PutUint64(ext[0:], 999)
	le.PutUint64(ext[8:], 1002)
	ext[16] = uint8(MonitoredByInode)
	return append(append(b, ext...), 'b', 'a')
}

func TestDecodeGolden(t *testing.T) {
	var e Event
	if err := e.Decode(golden()); err != nil {
		t.Fatal(err)
	}
	if e.EventKind() != KindRename || e.Why() != MonitoredByParent || !e.Has(FlagRenameReplace) || e.Seq != 42 ||
		e.Ino != 1001 || e.ParentIno != 1000 || e.Dev != 2049 || e.Tgid != 77 || e.Mode != 0o100644 || e.CommString() != "mv" {
		t.Errorf("header decoded wrong: %v", &e)
	}
	if e.Move.OldParentIno != 999 || e.Move.TargetIno != 1002 || Monitored(e.Move.OldMonitored) != MonitoredByInode {
		t.Errorf("ext decoded wrong: %+v", e.Move)
	}
	if string(e.Name) != "b" || string(e.Name2) != "a" || len(e.Path) != 0 {
		t.Errorf("names decoded wrong: %q %q %q", e.Name, e.Name2, e.Path)
	}
}

func TestDecodeMalformed(t *testing.T) {
	g := golden()
	for _, tc := range []struct {
		name   string
		record []byte
	}{
		{"empty", nil},
		{"short header", g[:50]},
		{"truncated", g[:len(g)-1]},
		{"size lies", func() []byte { b := bytes.Clone(g); b[4]++; return b }()},
		{"ext on a kind without one", func() []byte { b := bytes.Clone(g); b[0] = uint8(KindCreation); return b }()},
		{"wrong ext size", func() []byte {
			b := bytes.Clone(g)
			binary.LittleEndian.PutUint16(b[84:], 16)
			binary.LittleEndian.PutUint16(b[88:], 9)
			return b
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Event
			if err := e.Decode(tc.record); !errors.Is(err, ErrMalformed) {
				t.Errorf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(golden())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, record []byte) {
		var e Event
		if err := e.Decode(record); err != nil {
			return
		}
		if got := len(e.Name) + len(e.Name2) + len(e.Path) + headerSize + int(e.ExtLen); got != int(e.Size) {
			t.Errorf("decoded parts add up to %d, size says %d", got, e.Size)
		}
	})
}

func TestPrefixKey(t *testing.T) {
	for _, tc := range []struct {
		prefix, want string
		err          bool
	}{
		{"/etc", "/etc/", false},
		{"/etc/", "/etc/", false},
		{"/", "/", false},
		{"/srv//app/../mon", "/srv/mon/", false},
		{"etc", "", true},
		{"/" + string(bytes.Repeat([]byte("a"), 254)), "", true},
	} {
		k, err := prefixKey(tc.prefix)
		if tc.err {
			if !errors.Is(err, ErrBadPrefix) {
				t.Errorf("%q: got %v, want ErrBadPrefix", tc.prefix, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.prefix, err)
		}
		if got := string(k.Data[:k.Prefixlen/8]); got != tc.want {
			t.Errorf("%q: key %q, want %q", tc.prefix, got, tc.want)
		}
	}
}
