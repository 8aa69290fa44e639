package sensor

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
)

var update = flag.Bool("update", false, "rewrite golden files")

// kernelEvent is a record as the probes would decode it: the header of a process acting on a file.
func kernelEvent(kind bpf.Kind) bpf.Event {
	var ev bpf.Event
	ev.Kind, ev.Monitored, ev.Probe = uint8(kind), uint8(bpf.MonitoredByParent), 2
	ev.Seq, ev.TimeNs = 41, 5_000_000_000
	ev.Ino, ev.ParentIno, ev.Dev = 1234, 1200, 0xfe00
	ev.Tgid, ev.Pid, ev.Uid, ev.Gid, ev.Loginuid = 300, 301, 1000, 1000, 1000
	ev.ProcStart, ev.CgroupId, ev.Mntns, ev.Mode = 777, 88, 4026531841, 0o100644
	for i, c := range "touch" {
		ev.Comm[i] = int8(c)
	}
	ev.Name = []byte("a\xffb\nc")
	return ev
}

// goldenCases are one record per kind, with what is specific to it.
func goldenCases() []struct {
	name string
	ev   bpf.Event
} {
	type tc = struct {
		name string
		ev   bpf.Event
	}
	var out []tc
	add := func(name string, kind bpf.Kind, f func(*bpf.Event)) {
		ev := kernelEvent(kind)
		if f != nil {
			f(&ev)
		}
		out = append(out, tc{name, ev})
	}
	add("creation", bpf.KindCreation, nil)
	add("open_by_path", bpf.KindOpen, func(e *bpf.Event) {
		e.Monitored, e.Path = uint8(bpf.MonitoredByPath), []byte("/data/a\xffb\nc")
	})
	add("unlink", bpf.KindUnlink, func(e *bpf.Event) { e.Unlink.Nlink = 2 })
	add("rename_exchange", bpf.KindRename, func(e *bpf.Event) {
		e.Flags = uint8(bpf.FlagRenameExchange | bpf.FlagRenameReplace)
		e.Move = bpf.ExtMove{OldParentIno: 1100, TargetIno: 999, OldMonitored: uint8(bpf.MonitoredByInode)}
		e.Name2 = []byte("old")
	})
	add("permission", bpf.KindPermission, func(e *bpf.Event) { e.Perm = bpf.ExtMode{Mode: 0o100600, OldMode: 0o100644} })
	add("ownership", bpf.KindOwnership, func(e *bpf.Event) { e.Owner = bpf.ExtOwner{Uid: 1, Gid: 2, OldUid: 3, OldGid: 4} })
	add("mkdir", bpf.KindMkdir, func(e *bpf.Event) { e.Mode = 0o40755 })
	add("rmdir", bpf.KindRmdir, nil)
	add("symlink_truncated", bpf.KindSymlink, func(e *bpf.Event) {
		e.Name2, e.Flags = []byte("/etc/passwd"), uint8(bpf.FlagPathTruncated)
	})
	add("link", bpf.KindLink, func(e *bpf.Event) {
		e.Move = bpf.ExtMove{OldParentIno: 1100, OldMonitored: uint8(bpf.MonitoredByParent)}
		e.Name2 = []byte("existing")
	})
	add("xattr_set", bpf.KindXattrSet, func(e *bpf.Event) { e.Name2 = []byte("user.tag") })
	add("xattr_remove", bpf.KindXattrRemove, func(e *bpf.Event) { e.Name2 = []byte("user.tag") })
	add("acl_set", bpf.KindACLSet, func(e *bpf.Event) { e.Name2 = []byte("system.posix_acl_access") })
	add("mount", bpf.KindMount, func(e *bpf.Event) { e.Name2 = []byte("tmpfs") })
	add("umount", bpf.KindUmount, nil)
	add("exec", bpf.KindExec, func(e *bpf.Event) {
		e.Proc = bpf.ExtProc{ParentTgid: 1, ParentStart: 5}
		e.Name, e.Name2, e.Path = []byte("/usr/bin/touch"), []byte("touch\x00a\xffb\x00"), []byte("docker-abc.scope")
	})
	add("fork", bpf.KindFork, func(e *bpf.Event) { e.Proc = bpf.ExtProc{ParentTgid: 1, ParentStart: 5} })
	add("exit", bpf.KindExit, func(e *bpf.Event) { e.Proc = bpf.ExtProc{ExitCode: 256} })
	return out
}

// TestConvertGolden converts one record per kind and compares the raw events, field by field, with
// testdata/convert.golden (go test -run ConvertGolden -update rewrites it).
func TestConvertGolden(t *testing.T) {
	clock := FixedBootClock(1_700_000_000_000_000_000)
	var b strings.Builder
	for _, tc := range goldenCases() {
		var raw schemas.RawEvent
		if err := Convert(&raw, &tc.ev, clock); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		fmt.Fprintf(&b, "== %s\n%s", tc.name, dump(raw))
		// The raw event must survive the wire unchanged.
		enc, err := schemas.EncodeBatch(nil, &schemas.Batch{Host: "h", BootID: "b", Dev: 7, Events: []schemas.RawEvent{raw}})
		if err != nil {
			t.Fatalf("%s: encode: %v", tc.name, err)
		}
		var back schemas.Batch
		if err := schemas.DecodeBatch(enc, &back); err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		if got, want := dump(back.Events[0]), dump(raw); got != want {
			t.Errorf("%s: round trip changed the event:\n%s\nwant\n%s", tc.name, got, want)
		}
	}
	golden := filepath.Join("testdata", "convert.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("conversion differs from %s (run with -update after checking):\n%s", golden, b.String())
	}
}

func TestConvertUnknownKind(t *testing.T) {
	ev := kernelEvent(bpf.Kind(99))
	var raw schemas.RawEvent
	if err := Convert(&raw, &ev, BootClock{}); !errors.Is(err, schemas.ErrUnknownKind) {
		t.Fatalf("Convert of kind 99 = %v, want ErrUnknownKind", err)
	}
}

// dump prints the non-zero fields of ev, bytes quoted, one per line.
func dump(ev schemas.RawEvent) string {
	var b strings.Builder
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f, name := v.Field(i), prefix+v.Type().Field(i).Name
			switch {
			case f.Kind() == reflect.Struct:
				walk(name+".", f)
			case f.IsZero():
			case f.Kind() == reflect.Slice:
				fmt.Fprintf(&b, "  %s: %q\n", name, f.Bytes())
			default:
				fmt.Fprintf(&b, "  %s: %v\n", name, f.Interface())
			}
		}
	}
	walk("", reflect.ValueOf(ev))
	return b.String()
}

// TestKindTable: every kernel kind maps to the raw-event kind of the same name (close_write to content,
// what it becomes once the sensor has hashed the file), and every raw file and process kind is reached by
// exactly one kernel kind.
func TestKindTable(t *testing.T) {
	renamed := map[bpf.Kind]string{bpf.KindCloseWrite: schemas.KindContent.String()}
	reached := map[schemas.Kind]bpf.Kind{}
	for k := range 256 {
		kernel := bpf.Kind(k)
		known := !strings.HasPrefix(kernel.String(), "kind(")
		raw := kindOf(kernel)
		want := cmp.Or(renamed[kernel], kernel.String())
		switch {
		case !known && raw != 0:
			t.Errorf("kernel kind %d has no name but maps to %v", k, raw)
		case known && raw.String() != want:
			t.Errorf("kernel kind %v maps to %v", kernel, raw)
		case known:
			if other, dup := reached[raw]; dup {
				t.Errorf("%v is reached from kernel kinds %v and %v", raw, other, kernel)
			}
			reached[raw] = kernel
		}
	}
	for k := schemas.Kind(1); k.Valid(); k++ {
		if _, ok := reached[k]; !ok && (k.File() || k.Process()) {
			t.Errorf("raw kind %v has no kernel kind", k)
		}
	}
}
