package schemas

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

func proc() ActivityProcess {
	return ActivityProcess{Pid: 48211, Comm: []byte("bash"), Exe: []byte("/usr/bin/bash"),
		Args: [][]byte{[]byte("bash"), []byte("-c"), {}, []byte("echo hi > a.txt")}, UID: 1000, GID: 1000,
		LoginUID: 1000, ContainerID: strings.Repeat("0123abcd", 8),
		Lineage: []Ancestor{{Pid: 900, Comm: []byte("sshd"), Exe: []byte("/usr/sbin/sshd")}, {Pid: 1, Comm: []byte("systemd")}}}
}

// goldenActivity exercises every field; its encoding is pinned in testdata.
func goldenActivity() *ActivityBatch {
	p := proc()
	return &ActivityBatch{Host: "node-1", Type: "rename", Events: []Activity{
		{Time: 1764071294123456789, Host: "node-1", Type: "rename", Path: []byte("/data/b\xff\n.txt"),
			HostPath: []byte("/srv/mon/b\xff\n.txt"), OldPath: []byte("/data/a.txt"), OldHostPath: []byte("/srv/mon/a.txt"),
			Mode: 0o100644, Dev: 0x10303, Ino: 1311234, Monitored: MonitoredByParent, Probe: ProbeLSM, Process: p},
		{Time: 1764071294123466789, Host: "node-1", Type: "rename", Path: []byte("/srv/mon/f"), HostPath: []byte("/srv/mon/f"),
			Mode: 0o100600, OldMode: 0o100644, UID: 1, GID: 2, OldUID: 3, OldGID: 4, Target: []byte("t"), Xattr: []byte("user.x"),
			ACL: []byte("system.posix_acl_access"), FSType: []byte("tmpfs"), Dev: 1, Ino: 2, Monitored: MonitoredByInode,
			Probe: ProbeTracepoint, Process: ActivityProcess{Pid: 7, LoginUID: 4294967295}},
	}}
}

// TestActivityGolden pins the encoding of enriched batches: every field of the first types, and the
// content events, whose fields follow every older one so that batches written before them decode
// unchanged.
func TestActivityGolden(t *testing.T) {
	for file, batch := range map[string]func() *ActivityBatch{
		"activity_v1.hex":         goldenActivity,
		"activity_content_v1.hex": goldenContent,
		"activity_drift_v1.hex":   goldenDrift,
	} {
		t.Run(file, func(t *testing.T) {
			wantBytes := pinned(t, file, EncodeActivityBatch(nil, batch()), "ActivityVersion")
			var b ActivityBatch
			if err := DecodeActivityBatch(wantBytes, &b); err != nil {
				t.Fatal(err)
			}
			if want := batch(); !reflect.DeepEqual(want.Events, b.Events) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", b.Events, want.Events)
			}
		})
	}
}

// goldenContent is a batch of content events: a first hash, a second one with the first as old_hash,
// and one too large to hash, which has no hash but the last known one as old_hash.
func goldenContent() *ActivityBatch {
	p := proc()
	first := FormatHash(HashSHA256, bytes.Repeat([]byte{0xab}, 32))
	second := FormatHash(HashSHA256, bytes.Repeat([]byte{0x01}, 32))
	ev := func(t int64, hash string, size uint64, old string, state HashState) Activity {
		return Activity{Time: t, Host: "node-1", Type: "content", Path: []byte("/data/a.txt"),
			HostPath: []byte("/srv/mon/a.txt"), Dev: 0x10303, Ino: 1311234, Monitored: MonitoredByInode,
			Probe: ProbeLSM, Process: p, Hash: hash, Size: size, OldHash: old, HashState: state.String()}
	}
	return &ActivityBatch{Host: "node-1", Type: "content", Events: []Activity{
		ev(1764071295000000000, first, 12, "", HashOK),
		ev(1764071296000000000, second, 4096, first, HashOK),
		ev(1764071297000000000, "", 1<<40, second, HashTooLarge),
	}}
}

// goldenDrift is a batch of drift events, found by scans: one file whose hash and size changed, one
// grown too large to hash whose size tells it changed. Nobody is known to have changed them: no process.
func goldenDrift() *ActivityBatch {
	known := FormatHash(HashSHA256, bytes.Repeat([]byte{0xab}, 32))
	found := FormatHash(HashSHA256, bytes.Repeat([]byte{0x01}, 32))
	return &ActivityBatch{Host: "node-1", Type: TypeDrift, Events: []Activity{
		{Time: 1764071298000000000, Host: "node-1", Type: TypeDrift, Path: []byte("/srv/mon/a.txt"),
			HostPath: []byte("/srv/mon/a.txt"), Dev: 0x10303, Ino: 1311234, Monitored: MonitoredByInode, Probe: ProbeScan,
			Hash: found, Size: 4096, OldHash: known, OldSize: 12, HashState: HashOK.String(),
			Changed: []string{DriftHash, DriftSize}},
		{Time: 1764071299000000000, Host: "node-1", Type: TypeDrift, Path: []byte("/srv/mon/b.log"),
			HostPath: []byte("/srv/mon/b.log"), Dev: 0x10303, Ino: 1311235, Monitored: MonitoredByParent, Probe: ProbeScan,
			Size: 1 << 40, OldHash: known, OldSize: 12, HashState: HashTooLarge.String(), Changed: []string{DriftSize}},
	}}
}

// TestDriftGenericMsgpack reads drift events with a general msgpack library: what changed is an array
// of strings after every older field.
func TestDriftGenericMsgpack(t *testing.T) {
	var v []any
	if err := msgpack.Unmarshal(EncodeActivityBatch(nil, goldenDrift()), &v); err != nil {
		t.Fatal(err)
	}
	ev := v[3].([]any)[0].([]any)
	changed, _ := ev[afChanged].([]any)
	if len(changed) != 2 || changed[0] != DriftHash || changed[1] != DriftSize || ev[afOldHash] != goldenDrift().Events[0].OldHash {
		t.Fatalf("a generic reader sees changed %v, old_hash %v", ev[afChanged], ev[afOldHash])
	}
}

// TestContentGenericMsgpack reads content events with a general msgpack library: the fields added
// for them are plain strings.
func TestContentGenericMsgpack(t *testing.T) {
	var v []any
	if err := msgpack.Unmarshal(EncodeActivityBatch(nil, goldenContent()), &v); err != nil {
		t.Fatal(err)
	}
	ev := v[3].([]any)[1].([]any)
	if ev[afHash] != goldenContent().Events[1].Hash || ev[afOldHash] != goldenContent().Events[0].Hash ||
		ev[afHashState] != "ok" {
		t.Fatalf("a generic reader sees hash %v, old_hash %v, hash_state %v", ev[afHash], ev[afOldHash], ev[afHashState])
	}
}

func TestFormatHash(t *testing.T) {
	tests := []struct {
		alg    HashAlg
		digest []byte
		want   string
	}{
		{HashSHA256, []byte{0x00, 0x9f, 0xff}, "sha256:009fff"},
		{HashSHA512, []byte{0xab}, "sha512:ab"},
		{HashSHA256, nil, ""},
		{HashAlg(9), []byte{1}, "hash(9):01"},
	}
	for _, tt := range tests {
		if got := FormatHash(tt.alg, tt.digest); got != tt.want {
			t.Errorf("FormatHash(%v, %x) = %q, want %q", tt.alg, tt.digest, got, tt.want)
		}
	}
}

// TestActivityGenericMsgpack reads the golden batch with a general msgpack library, as a consumer in
// another language would.
func TestActivityGenericMsgpack(t *testing.T) {
	var v []any
	if err := msgpack.Unmarshal(EncodeActivityBatch(nil, goldenActivity()), &v); err != nil {
		t.Fatal(err)
	}
	if len(v) != activityBatchFields || v[1] != "node-1" || v[2] != "rename" {
		t.Fatalf("envelope %v", v[:3])
	}
	ev := v[3].([]any)[0].([]any)
	if path := ev[afPath].([]byte); string(path) != "/data/b\xff\n.txt" {
		t.Fatalf("path %q", path)
	}
	if exe := ev[afProcess].([]any)[pfExe].([]byte); string(exe) != "/usr/bin/bash" {
		t.Fatalf("exe %q", exe)
	}
}

func TestActivityRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := ActivityBatch{Host: rapid.StringN(0, 20, -1).Draw(t, "host"), Type: rapid.SampledFrom(
			[]string{"creation", "rename", "gap", "link", "content", TypeDrift}).Draw(t, "type")}
		for range rapid.IntRange(0, 4).Draw(t, "n") {
			b.Events = append(b.Events, drawActivity(t, b.Host, b.Type))
		}
		data := EncodeActivityBatch(nil, &b)
		var got ActivityBatch
		if err := DecodeActivityBatch(data, &got); err != nil {
			t.Fatal(err)
		}
		if got.Host != b.Host || got.Type != b.Type || !reflect.DeepEqual(normalActivities(got.Events), normalActivities(b.Events)) {
			t.Fatalf("got %+v\nwant %+v", got, b)
		}
	})
}

// normalActivities makes empty byte slices nil, as decoding does, but for arguments, which stay non-nil.
func normalActivities(evs []Activity) []Activity {
	out := make([]Activity, len(evs))
	for i, a := range evs {
		for _, p := range []*[]byte{&a.Path, &a.HostPath, &a.OldPath, &a.OldHostPath, &a.Target, &a.Xattr, &a.ACL,
			&a.FSType, &a.Process.Comm, &a.Process.Exe} {
			if len(*p) == 0 {
				*p = nil
			}
		}
		if len(a.Process.Args) == 0 {
			a.Process.Args = nil
		}
		if len(a.Changed) == 0 {
			a.Changed = nil
		}
		if len(a.Process.Lineage) == 0 {
			a.Process.Lineage = nil
		}
		for j := range a.Process.Lineage {
			l := &a.Process.Lineage[j]
			if len(l.Comm) == 0 {
				l.Comm = nil
			}
			if len(l.Exe) == 0 {
				l.Exe = nil
			}
		}
		out[i] = a
	}
	return out
}

func drawBytes(t *rapid.T, label string) []byte {
	return rapid.SliceOfN(rapid.Byte(), 0, 12).Draw(t, label)
}

func drawActivity(t *rapid.T, host, typ string) Activity {
	a := Activity{Host: host, Type: typ, Time: rapid.Int64().Draw(t, "time"), Path: drawBytes(t, "path"),
		HostPath: drawBytes(t, "host_path"), OldPath: drawBytes(t, "old_path"), Mode: rapid.Uint32().Draw(t, "mode"),
		UID: rapid.Uint32().Draw(t, "uid"), Target: drawBytes(t, "target"), Dev: rapid.Uint64().Draw(t, "dev"),
		Ino: rapid.Uint64().Draw(t, "ino"), Monitored: Monitored(rapid.IntRange(0, 3).Draw(t, "mon")),
		Probe: Probe(rapid.IntRange(0, 3).Draw(t, "probe")), Reason: rapid.String().Draw(t, "reason"),
		Lost: rapid.Uint64().Draw(t, "lost")}
	if typ == "content" || typ == TypeDrift {
		a.Hash = FormatHash(HashAlg(rapid.IntRange(1, 2).Draw(t, "alg")), drawBytes(t, "digest"))
		a.OldHash = rapid.StringN(0, 20, -1).Draw(t, "old_hash")
		a.Size = rapid.Uint64().Draw(t, "size")
		a.HashState = HashState(rapid.IntRange(1, 5).Draw(t, "hash_state")).String()
	}
	if typ == TypeDrift {
		a.OldSize = rapid.Uint64().Draw(t, "old_size")
		a.Changed = rapid.SliceOfN(rapid.SampledFrom([]string{DriftHash, DriftSize}), 0, 2).Draw(t, "changed")
	}
	if rapid.Bool().Draw(t, "has process") {
		a.Process = ActivityProcess{Pid: rapid.Uint32().Draw(t, "pid"), Comm: drawBytes(t, "comm"),
			Exe: drawBytes(t, "exe"), UID: rapid.Uint32().Draw(t, "puid"), LoginUID: rapid.Uint32().Draw(t, "login"),
			ContainerID: rapid.StringN(0, 64, -1).Draw(t, "cid")}
		for range rapid.IntRange(0, 3).Draw(t, "args") {
			a.Process.Args = append(a.Process.Args, append([]byte{}, drawBytes(t, "arg")...))
		}
		for range rapid.IntRange(0, 2).Draw(t, "lineage") {
			a.Process.Lineage = append(a.Process.Lineage, Ancestor{Pid: rapid.Uint32().Draw(t, "lpid"),
				Comm: drawBytes(t, "lcomm"), Exe: drawBytes(t, "lexe")})
		}
	}
	return a
}

func TestActivityDecodeErrors(t *testing.T) {
	good := EncodeActivityBatch(nil, goldenActivity())
	v2 := bytes.Clone(good)
	v2[1] = 2
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"raw batch", mustRaw(t), ErrMalformed},
		{"version 2", v2, ErrUnknownVersion},
		{"truncated", good[:len(good)-3], ErrMalformed},
		{"trailing", append(bytes.Clone(good), 0), ErrMalformed},
		{"huge array", []byte{0x94, 0x01, 0xa0, 0xa0, 0xdd, 0xff, 0xff, 0xff, 0xff}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b ActivityBatch
			err := DecodeActivityBatch(tt.data, &b)
			var de *DecodeError
			if !errors.Is(err, tt.want) || !errors.As(err, &de) {
				t.Fatalf("got %v, want %v in a *DecodeError", err, tt.want)
			}
		})
	}
}

func mustRaw(t *testing.T) []byte {
	data, err := EncodeBatch(nil, goldenBatch())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func FuzzDecodeActivityBatch(f *testing.F) {
	f.Add(EncodeActivityBatch(nil, goldenActivity()))
	f.Add(EncodeActivityBatch(nil, goldenContent()))
	f.Add(EncodeActivityBatch(nil, goldenDrift()))
	f.Add(EncodeActivityBatch(nil, &ActivityBatch{Host: "h", Type: TypeGap, Events: []Activity{{Type: TypeGap, Dev: 5, Reason: "loss", Lost: 3}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b ActivityBatch
		if err := DecodeActivityBatch(data, &b); err != nil {
			return
		}
		// What decodes re-encodes to something that decodes to the same events.
		again := EncodeActivityBatch(nil, &b)
		var c ActivityBatch
		if err := DecodeActivityBatch(again, &c); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalActivities(b.Events), normalActivities(c.Events)) {
			t.Fatalf("round trip changed events")
		}
		for i := range b.Events {
			line := AppendActivityJSON(nil, &b.Events[i])
			if !json.Valid(line) || bytes.ContainsAny(line, "\n\r") {
				t.Fatalf("bad JSON line %q", line)
			}
		}
	})
}

func TestActivityJSONGolden(t *testing.T) {
	b := goldenActivity()
	var got []byte
	for i := range b.Events {
		got = append(AppendActivityJSON(got, &b.Events[i]), '\n')
	}
	gap := Activity{Time: 1764071294000000000, Host: "node-1", Type: TypeGap, Dev: 0x10303, Reason: "loss: 3 records at file_open", Lost: 3}
	got = append(AppendActivityJSON(got, &gap), '\n')
	for _, a := range goldenContent().Events {
		got = append(AppendActivityJSON(got, &a), '\n')
	}
	for _, a := range goldenDrift().Events {
		got = append(AppendActivityJSON(got, &a), '\n')
	}
	file := filepath.Join("testdata", "activity_v1.jsonl")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("JSON form changed: it is a stable interface; rerun with UPDATE_GOLDEN=1 only on purpose\ngot\n%s\nwant\n%s", got, want)
	}
}

// TestActivityJSONBytes checks that names with invalid UTF-8 and newlines are unambiguous: the line is
// one line of valid JSON, and the _b64 field gives the exact bytes back.
func TestActivityJSONBytes(t *testing.T) {
	a := goldenActivity().Events[0]
	a.Process.Args = append(a.Process.Args, []byte("\xfe"))
	line := AppendActivityJSON(nil, &a)
	if bytes.ContainsAny(line, "\n\r") {
		t.Fatalf("line break in %q", line)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	if m["path"] != "/data/b\ufffd\n.txt" {
		t.Fatalf("path %q", m["path"])
	}
	for key, want := range map[string][]byte{"path_b64": a.Path, "host_path_b64": a.HostPath} {
		got, err := base64.StdEncoding.DecodeString(m[key].(string))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %q, %v", key, got, err)
		}
	}
	old := m["old"].(map[string]any)
	if _, ok := old["path_b64"]; ok || old["host_path"] != "/srv/mon/a.txt" {
		t.Fatalf("old %v", old)
	}
	p := m["process"].(map[string]any)
	args := p["args_b64"].([]any)
	if len(args) != 5 || args[4] != base64.StdEncoding.EncodeToString([]byte("\xfe")) || args[2] != "" {
		t.Fatalf("args_b64 %v", args)
	}
	if m["mode"] != "0100644" || m["monitored"] != "parent" || m["probe"] != "lsm" {
		t.Fatalf("mode %v monitored %v probe %v", m["mode"], m["monitored"], m["probe"])
	}
	if m["time"] != "2025-11-25T11:48:14.123456789Z" {
		t.Fatalf("time %v", m["time"])
	}
}

func TestJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"a\"b\\c":      `"a\"b\\c"`,
		"\x00\x1f\x7f": `"\u0000\u001f\u007f"`,
		"é\u2028":      `"é\u2028"`,
		"\xff\xfeok":   "\"\ufffd\ufffdok\"",
	} {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
		var s string
		if err := json.Unmarshal(appendJSONString(nil, []byte(in)), &s); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestDecodeActivityHeader(t *testing.T) {
	h, err := DecodeActivityHeader(EncodeActivityBatch(nil, goldenActivity()))
	if err != nil || h != (ActivityHeader{Host: "node-1", Type: "rename", Events: 2}) {
		t.Fatalf("got %+v, %v", h, err)
	}
	if _, err := DecodeActivityHeader([]byte{0x94, 0x05, 0xa0, 0xa0, 0x90}); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("version 5: %v", err)
	}
}
