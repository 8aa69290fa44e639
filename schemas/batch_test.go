package schemas

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

const dev = 0x10303 // st_dev of a typical /dev/sda3

func creation() RawEvent {
	return RawEvent{
		Kind: KindCreation, Seq: 123456, Time: 1764071294123456789, Probe: ProbeLSM,
		Monitored: MonitoredByParent, Dev: dev, Ino: 1311234, ParentIno: 1310721, Name: []byte("a.txt"),
		Mode: 0o100644, UID: 1000, GID: 1000,
		Proc: Process{Pid: 48211, Tgid: 48211, UID: 1000, GID: 1000, LoginUID: 1000, Comm: []byte("bash"),
			Start: 9123456789012, CgroupID: 8812, MntNS: 4026531841},
	}
}

// goldenBatch exercises every group of fields; its encoding is pinned in testdata.
func goldenBatch() *Batch {
	c := creation()
	return &Batch{
		Host: "node-1", BootID: "5d3c1f0e-8a5b-4c52-9d3e-1b2a3c4d5e6f", BatchSeq: 42, Dev: dev,
		Events: []RawEvent{
			{Kind: KindScanBegin, Seq: 1, Time: 1764071290000000000, Probe: ProbeScan, ScanEpoch: 7,
				Ino: 1310721, Path: []byte("/srv/mon")},
			{Kind: KindScanEntry, Seq: 2, Time: 1764071290000001000, Probe: ProbeScan, Flags: FlagScanRoot,
				ScanEpoch: 7, Ino: 1310721, ParentIno: 2, Name: []byte("mon"), Mode: 0o40755, Nlink: 3,
				Path: []byte("/srv/mon")},
			{Kind: KindScanEnd, Seq: 3, Time: 1764071290000002000, Probe: ProbeScan, ScanEpoch: 7},
			c,
			{Kind: KindRename, Seq: 123457, Time: 1764071294123466789, Probe: ProbeTracepoint,
				Monitored: MonitoredByParent, Flags: FlagRenameReplaced, Dev: dev, Ino: 1311234,
				ParentIno: 1310721, Name: []byte("b\xff\n.txt"), OldParentIno: 1310721, OldName: []byte("a.txt"),
				OldMonitored: MonitoredByParent, TargetIno: 1311299, Mode: 0o100644, Proc: c.Proc},
			{Kind: KindExec, Seq: 123458, Time: 1764071294123476789, Probe: ProbeLSM,
				Proc: Process{Pid: 48300, Tgid: 48300, LoginUID: 4294967295, Comm: []byte("cat"), Start: 9123456799012},
				PPid: 48211, ParentStart: 9123456789012, Exe: []byte("/usr/bin/cat"), Args: []byte("cat\x00a.txt\x00"),
				Cgroup: []byte("/system.slice/docker-0123abcd.scope")},
			{Kind: KindExit, Seq: 123459, Time: 1764071294123486789, Probe: ProbeLSM,
				Proc: Process{Pid: 48300, Tgid: 48300, Comm: []byte("cat"), Start: 9123456799012}, ExitCode: -1},
			{Kind: KindLoss, Seq: 123460, Time: 1764071294123496789, Dev: 0, Lost: 17, Hook: "file_open"},
		},
	}
}

func TestGolden(t *testing.T) {
	got, err := EncodeBatch(nil, goldenBatch())
	if err != nil {
		t.Fatal(err)
	}
	wantBytes := pinned(t, "batch_v1.hex", got, "Version")
	var b Batch
	if err := DecodeBatch(wantBytes, &b); err != nil {
		t.Fatal(err)
	}
	assertEqualBatch(t, goldenBatch(), &b)
}

// pinned returns the bytes pinned in testdata/file as hex (rewritten from got first when UPDATE_GOLDEN
// is set) and fails unless got is the same: a difference changes the wire, which needs version bumped.
func pinned(t *testing.T, file string, got []byte, version string) []byte {
	t.Helper()
	file = filepath.Join("testdata", file)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(file, []byte(hex.EncodeToString(got)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes, err := hex.DecodeString(strings.TrimSpace(string(want)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantBytes) {
		t.Fatalf("encoding changed (wire compatibility): bump %s or rerun with UPDATE_GOLDEN=1\ngot  %x\nwant %x", version, got, wantBytes)
	}
	return wantBytes
}

// TestGenericMsgpack shows that a general msgpack library reads the batch: the contract for consumers in
// other languages.
func TestGenericMsgpack(t *testing.T) {
	data, err := EncodeBatch(nil, goldenBatch())
	if err != nil {
		t.Fatal(err)
	}
	var v []any
	if err := msgpack.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v) != batchFields || v[1] != "node-1" {
		t.Fatalf("envelope %v", v[:5])
	}
	evs := v[5].([]any)
	ren := evs[4].([]any)
	if name := ren[9].([]byte); string(name) != "b\xff\n.txt" {
		t.Fatalf("rename name %q", name)
	}
}

func TestCreationSize(t *testing.T) {
	ev := creation()
	b, err := AppendEvent(nil, &ev, dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a creation event with a 5-byte name encodes to %d bytes", len(b))
	if len(b) > 96 {
		t.Fatalf("creation event takes %d bytes, want at most 96", len(b))
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := EncodeBatch(nil, goldenBatch())
	if err != nil {
		t.Fatal(err)
	}
	v2 := bytes.Clone(good)
	v2[1] = 2
	// An event array of fewer than 16 fields has a one-byte header, so its kind is the next byte.
	empty, _ := EncodeBatch(nil, &Batch{Host: "h"})
	badKind, _ := EncodeBatch(nil, &Batch{Host: "h", Events: []RawEvent{{Kind: KindScanEnd, Seq: 1}}})
	badKind[len(empty)+1] = 99
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"not an array", []byte{0x01}, ErrMalformed},
		{"version 2", v2, ErrUnknownVersion},
		{"unknown kind", badKind, ErrUnknownKind},
		{"truncated", good[:len(good)-3], ErrMalformed},
		{"trailing bytes", append(bytes.Clone(good), 0), ErrMalformed},
		{"huge array", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Batch
			err := DecodeBatch(tt.data, &b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("%T is not a *DecodeError", err)
			}
			t.Log(err)
		})
	}
}

func TestEncodeUnknownKind(t *testing.T) {
	_, err := EncodeBatch(nil, &Batch{Events: []RawEvent{{Kind: 0}}})
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("got %v", err)
	}
}

func TestKindString(t *testing.T) {
	for k := Kind(1); k < numKinds; k++ {
		if kindNames[k] == "" || layouts[k] == nil {
			t.Fatalf("kind %d has no name or layout", k)
		}
	}
	if KindXattrSet.String() != "xattr_set" || Kind(200).String() != "kind(200)" {
		t.Fatal(KindXattrSet, Kind(200))
	}
}

// TestKindActivity: the kinds that become FILE_ACTIVITY events are the file kinds and content.
func TestKindActivity(t *testing.T) {
	for k := Kind(1); k < numKinds; k++ {
		if want := k.File() || k == KindContent; k.Activity() != want {
			t.Errorf("%v: Activity() = %v, want %v", k, k.Activity(), want)
		}
	}
	if KindContent.File() || !KindContent.Activity() || KindExec.Activity() || KindScanEntry.Activity() {
		t.Fatal("content is an activity kind without being a file kind; exec and scan entries are neither")
	}
}

// TestDecodeReuse shows that decoding into the same Batch allocates nothing once it has grown.
func TestDecodeReuse(t *testing.T) {
	data, _ := EncodeBatch(nil, goldenBatch())
	var b Batch
	if err := DecodeBatch(data, &b); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := DecodeBatch(data, &b); err != nil {
			t.Fatal(err)
		}
	})
	// The loss event's hook string is the one allocation.
	if allocs > 1 {
		t.Fatalf("%v allocations per decode", allocs)
	}
}

func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := genBatch(t)
		data, err := EncodeBatch(nil, b)
		if err != nil {
			t.Fatal(err)
		}
		var got Batch
		if err := DecodeBatch(data, &got); err != nil {
			t.Fatal(err)
		}
		assertEqualBatch(t, b, &got)
		// Encoding is a function of the value.
		again, _ := EncodeBatch(nil, &got)
		if !bytes.Equal(data, again) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func FuzzDecodeBatch(f *testing.F) {
	golden, _ := EncodeBatch(nil, goldenBatch())
	f.Add(golden)
	one := creation()
	single, _ := EncodeBatch(nil, &Batch{Host: "h", Events: []RawEvent{one}})
	f.Add(single)
	f.Add([]byte{0x96, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Batch
		if err := DecodeBatch(data, &b); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("%T is not a *DecodeError", err)
			}
			return
		}
		// What decodes re-encodes to something that decodes to the same batch.
		again, err := EncodeBatch(nil, &b)
		if err != nil {
			t.Fatal(err)
		}
		var b2 Batch
		if err := DecodeBatch(again, &b2); err != nil {
			t.Fatal(err)
		}
		assertEqualBatch(t, &b, &b2)
	})
}

type fataler interface {
	Fatalf(format string, args ...any)
}

func assertEqualBatch(t fataler, want, got *Batch) {
	w, g := *want, *got
	w.arena, g.arena = nil, nil
	w.Events, g.Events = nil, nil
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("envelope: got %+v, want %+v", g, w)
	}
	if len(want.Events) != len(got.Events) {
		t.Fatalf("%d events, want %d", len(got.Events), len(want.Events))
	}
	for i := range want.Events {
		if !reflect.DeepEqual(normal(want.Events[i]), normal(got.Events[i])) {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, got.Events[i], want.Events[i])
		}
	}
}

// normal makes empty byte slices nil: the encoding does not tell them apart.
func normal(ev RawEvent) RawEvent {
	for _, p := range []*[]byte{&ev.Name, &ev.Path, &ev.OldName, &ev.OldPath, &ev.Aux, &ev.Proc.Comm, &ev.Exe, &ev.Args, &ev.Cgroup} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return ev
}

func genBatch(t *rapid.T) *Batch {
	b := &Batch{
		Host:     rapid.StringMatching(`[a-z0-9-]{0,40}`).Draw(t, "host"),
		BootID:   rapid.String().Draw(t, "boot"),
		BatchSeq: rapid.Uint64().Draw(t, "batch_seq"),
		Dev:      rapid.Uint64().Draw(t, "dev"),
	}
	n := rapid.IntRange(0, 20).Draw(t, "events")
	for range n {
		b.Events = append(b.Events, genEvent(t, b.Dev))
	}
	return b
}

// genEvent draws a kind and a value for every field of its layout, including extreme integers and
// arbitrary bytes.
func genEvent(t *rapid.T, batchDev uint64) RawEvent {
	k := Kind(rapid.IntRange(1, numKinds-1).Draw(t, "kind"))
	ev := RawEvent{Kind: k}
	if !k.Process() {
		ev.Dev = batchDev
	}
	for _, f := range layouts[k][1:] {
		setField(t, &ev, f, batchDev)
	}
	return ev
}

func setField(t *rapid.T, ev *RawEvent, f field, batchDev uint64) {
	u64 := func() uint64 { return rapid.OneOf(rapid.Uint64(), rapid.Uint64Range(0, 300)).Draw(t, f.String()) }
	u32 := func() uint32 { return uint32(u64()) }
	bin := func() []byte {
		p := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, f.String())
		if len(p) == 0 {
			return nil
		}
		return p
	}
	switch f {
	case fSeq:
		ev.Seq = u64()
	case fTime:
		ev.Time = rapid.Int64().Draw(t, "time")
	case fProbe:
		ev.Probe = Probe(rapid.IntRange(0, 3).Draw(t, "probe"))
	case fMonitored:
		ev.Monitored = Monitored(rapid.IntRange(0, 3).Draw(t, "monitored"))
	case fFlags:
		ev.Flags = Flags(rapid.Uint16().Draw(t, "flags"))
	case fDev:
		if rapid.Bool().Draw(t, "other dev") {
			ev.Dev = u64()
		}
	case fIno:
		ev.Ino = u64()
	case fParentIno:
		ev.ParentIno = u64()
	case fName:
		ev.Name = bin()
	case fPath:
		ev.Path = bin()
	case fOldParentIno:
		ev.OldParentIno = u64()
	case fOldName:
		ev.OldName = bin()
	case fOldPath:
		ev.OldPath = bin()
	case fOldMonitored:
		ev.OldMonitored = Monitored(rapid.IntRange(0, 3).Draw(t, "old_monitored"))
	case fTargetIno:
		ev.TargetIno = u64()
	case fMode:
		ev.Mode = u32()
	case fOldMode:
		ev.OldMode = u32()
	case fUID:
		ev.UID = u32()
	case fGID:
		ev.GID = u32()
	case fOldUID:
		ev.OldUID = u32()
	case fOldGID:
		ev.OldGID = u32()
	case fNlink:
		ev.Nlink = u32()
	case fAux:
		ev.Aux = bin()
	case fPid:
		ev.Proc.Pid = u32()
	case fTgid:
		ev.Proc.Tgid = u32()
	case fProcUID:
		ev.Proc.UID = u32()
	case fProcGID:
		ev.Proc.GID = u32()
	case fLoginUID:
		ev.Proc.LoginUID = u32()
	case fComm:
		ev.Proc.Comm = bin()
	case fProcStart:
		ev.Proc.Start = u64()
	case fCgroupID:
		ev.Proc.CgroupID = u64()
	case fMntNS:
		ev.Proc.MntNS = u32()
	case fPPid:
		ev.PPid = u32()
	case fParentStart:
		ev.ParentStart = u64()
	case fExe:
		ev.Exe = bin()
	case fArgs:
		ev.Args = bin()
	case fCgroup:
		ev.Cgroup = bin()
	case fExitCode:
		ev.ExitCode = rapid.Int32().Draw(t, "exit_code")
	case fScanEpoch:
		ev.ScanEpoch = u64()
	case fLost:
		ev.Lost = u64()
	case fHook:
		ev.Hook = rapid.String().Draw(t, "hook")
	case fGeneration:
		ev.Generation = u32()
	case fSize:
		ev.Size = u64()
	case fMtime:
		ev.Mtime = rapid.Int64().Draw(t, "mtime")
	case fHashAlg:
		ev.HashAlg = HashAlg(rapid.IntRange(0, int(HashSHA512)).Draw(t, "hash_alg"))
	case fDigest:
		ev.Digest = bin()
	case fHashState:
		ev.HashState = HashState(rapid.IntRange(0, numHashStates-1).Draw(t, "hash_state"))
	default:
		t.Fatalf("no generator for %s", f)
	}
}

func TestDecodeBatchHeader(t *testing.T) {
	data, _ := EncodeBatch(nil, goldenBatch())
	h, err := DecodeBatchHeader(data)
	want := BatchHeader{Host: "node-1", BootID: "5d3c1f0e-8a5b-4c52-9d3e-1b2a3c4d5e6f", BatchSeq: 42, Dev: dev, Events: 8}
	if err != nil || h != want {
		t.Fatalf("got %+v, %v", h, err)
	}
	if _, err := DecodeBatchHeader(data[:10]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
}
