package schemas

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The hand-written codec against msgpack/v5's reflection API, on the same batch (benchBatch). The reflection
// side cannot write the raw format: its layouts are per kind, positional, with trailing zero fields left off
// and a dev that defaults to the batch's, none of which struct tags express. So it encodes test-only mirror
// types carrying the same information (TestReflectMirror checks the round trip), in the two forms a
// replacement of the codec could take: keyed by the README's field names with empty fields omitted
// ("map"), or every field in struct order ("array"). Both use compact integers, as the codec does; both
// start from the mirror already built, so the conversion from RawEvent, which a replacement would pay too,
// is not timed: the figures favour reflection.

// reflectBatch mirrors Batch.
type reflectBatch struct {
	Version  uint8          `msgpack:"version"`
	Host     string         `msgpack:"host"`
	BootID   string         `msgpack:"boot_id"`
	BatchSeq uint64         `msgpack:"batch_seq"`
	Dev      uint64         `msgpack:"dev"`
	Events   []reflectEvent `msgpack:"events"`
}

// reflectEvent mirrors RawEvent field for field. Dev is always the event's own: a zero that means "the
// batch's" would make a loss event's dev 0 ambiguous.
type reflectEvent struct {
	Kind         Kind           `msgpack:"kind"`
	Seq          uint64         `msgpack:"seq,omitempty"`
	Time         int64          `msgpack:"time,omitempty"`
	Probe        Probe          `msgpack:"probe,omitempty"`
	Monitored    Monitored      `msgpack:"monitored,omitempty"`
	Flags        Flags          `msgpack:"flags,omitempty"`
	Dev          uint64         `msgpack:"dev,omitempty"`
	Ino          uint64         `msgpack:"ino,omitempty"`
	ParentIno    uint64         `msgpack:"parent_ino,omitempty"`
	Name         []byte         `msgpack:"name,omitempty"`
	Path         []byte         `msgpack:"path,omitempty"`
	OldParentIno uint64         `msgpack:"old_parent_ino,omitempty"`
	OldName      []byte         `msgpack:"old_name,omitempty"`
	OldMonitored Monitored      `msgpack:"old_monitored,omitempty"`
	TargetIno    uint64         `msgpack:"target_ino,omitempty"`
	Mode         uint32         `msgpack:"mode,omitempty"`
	OldMode      uint32         `msgpack:"old_mode,omitempty"`
	UID          uint32         `msgpack:"uid,omitempty"`
	GID          uint32         `msgpack:"gid,omitempty"`
	OldUID       uint32         `msgpack:"old_uid,omitempty"`
	OldGID       uint32         `msgpack:"old_gid,omitempty"`
	Nlink        uint32         `msgpack:"nlink,omitempty"`
	Aux          []byte         `msgpack:"aux,omitempty"`
	OldPath      []byte         `msgpack:"old_path,omitempty"`
	Proc         reflectProcess `msgpack:"proc,omitempty"`
	PPid         uint32         `msgpack:"ppid,omitempty"`
	ParentStart  uint64         `msgpack:"parent_start,omitempty"`
	Exe          []byte         `msgpack:"exe,omitempty"`
	Args         []byte         `msgpack:"args,omitempty"`
	Cgroup       []byte         `msgpack:"cgroup,omitempty"`
	ExitCode     int32          `msgpack:"exit_code,omitempty"`
	ScanEpoch    uint64         `msgpack:"scan_epoch,omitempty"`
	Lost         uint64         `msgpack:"lost,omitempty"`
	Hook         string         `msgpack:"hook,omitempty"`
}

// reflectProcess mirrors Process.
type reflectProcess struct {
	Pid      uint32 `msgpack:"pid,omitempty"`
	Tgid     uint32 `msgpack:"tgid,omitempty"`
	UID      uint32 `msgpack:"proc_uid,omitempty"`
	GID      uint32 `msgpack:"proc_gid,omitempty"`
	LoginUID uint32 `msgpack:"loginuid,omitempty"`
	Comm     []byte `msgpack:"comm,omitempty"`
	Start    uint64 `msgpack:"proc_start,omitempty"`
	CgroupID uint64 `msgpack:"cgroup_id,omitempty"`
	MntNS    uint32 `msgpack:"mntns,omitempty"`
}

func toReflect(b *Batch) *reflectBatch {
	r := &reflectBatch{Version: Version, Host: b.Host, BootID: b.BootID, BatchSeq: b.BatchSeq, Dev: b.Dev}
	for i := range b.Events {
		ev := &b.Events[i]
		r.Events = append(r.Events, reflectEvent{
			Kind: ev.Kind, Seq: ev.Seq, Time: ev.Time, Probe: ev.Probe, Monitored: ev.Monitored, Flags: ev.Flags,
			Dev: ev.Dev, Ino: ev.Ino, ParentIno: ev.ParentIno, Name: ev.Name, Path: ev.Path,
			OldParentIno: ev.OldParentIno, OldName: ev.OldName, OldMonitored: ev.OldMonitored,
			TargetIno: ev.TargetIno, Mode: ev.Mode, OldMode: ev.OldMode, UID: ev.UID, GID: ev.GID,
			OldUID: ev.OldUID, OldGID: ev.OldGID, Nlink: ev.Nlink, Aux: ev.Aux, OldPath: ev.OldPath,
			Proc: reflectProcess(ev.Proc),
			PPid: ev.PPid, ParentStart: ev.ParentStart, Exe: ev.Exe, Args: ev.Args, Cgroup: ev.Cgroup,
			ExitCode: ev.ExitCode, ScanEpoch: ev.ScanEpoch, Lost: ev.Lost, Hook: ev.Hook,
		})
	}
	return r
}

func fromReflect(r *reflectBatch) *Batch {
	b := &Batch{Host: r.Host, BootID: r.BootID, BatchSeq: r.BatchSeq, Dev: r.Dev}
	for i := range r.Events {
		ev := &r.Events[i]
		b.Events = append(b.Events, RawEvent{
			Kind: ev.Kind, Seq: ev.Seq, Time: ev.Time, Probe: ev.Probe, Monitored: ev.Monitored, Flags: ev.Flags,
			Dev: ev.Dev, Ino: ev.Ino, ParentIno: ev.ParentIno, Name: ev.Name, Path: ev.Path,
			OldParentIno: ev.OldParentIno, OldName: ev.OldName, OldMonitored: ev.OldMonitored,
			TargetIno: ev.TargetIno, Mode: ev.Mode, OldMode: ev.OldMode, UID: ev.UID, GID: ev.GID,
			OldUID: ev.OldUID, OldGID: ev.OldGID, Nlink: ev.Nlink, Aux: ev.Aux, OldPath: ev.OldPath,
			Proc: Process(ev.Proc),
			PPid: ev.PPid, ParentStart: ev.ParentStart, Exe: ev.Exe, Args: ev.Args, Cgroup: ev.Cgroup,
			ExitCode: ev.ExitCode, ScanEpoch: ev.ScanEpoch, Lost: ev.Lost, Hook: ev.Hook,
		})
	}
	return b
}

// reflectForms are the two encodings the reflection side is measured in.
var reflectForms = []struct {
	name  string
	array bool
}{{"map", false}, {"array", true}}

func reflectEncoder(w *bytes.Buffer, array bool) *msgpack.Encoder {
	enc := msgpack.NewEncoder(w)
	enc.UseCompactInts(true)
	enc.UseArrayEncodedStructs(array)
	return enc
}

// TestReflectMirror shows that the mirror types carry what the codec does: the golden batch, which has
// every group of fields, survives both forms.
func TestReflectMirror(t *testing.T) {
	for _, form := range reflectForms {
		t.Run(form.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := reflectEncoder(&buf, form.array).Encode(toReflect(goldenBatch())); err != nil {
				t.Fatal(err)
			}
			var got reflectBatch
			if err := msgpack.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			assertEqualBatch(t, goldenBatch(), fromReflect(&got))
		})
	}
}

func BenchmarkReflectEncode(b *testing.B) {
	batch := benchBatch()
	mirror := toReflect(batch)
	for _, form := range reflectForms {
		b.Run(form.name, func(b *testing.B) {
			var buf bytes.Buffer
			enc := reflectEncoder(&buf, form.array)
			if err := enc.Encode(mirror); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(buf.Len()))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := enc.Encode(mirror); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch.Events))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(buf.Len())/float64(len(batch.Events)), "bytes/event")
		})
	}
}

// BenchmarkReflectDecode decodes into a fresh reflectBatch each time: decoding a map into a reused struct
// would keep the fields a shorter event leaves out.
func BenchmarkReflectDecode(b *testing.B) {
	batch := benchBatch()
	for _, form := range reflectForms {
		b.Run(form.name, func(b *testing.B) {
			var buf bytes.Buffer
			if err := reflectEncoder(&buf, form.array).Encode(toReflect(batch)); err != nil {
				b.Fatal(err)
			}
			data := buf.Bytes()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var got reflectBatch
				if err := msgpack.Unmarshal(data, &got); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch.Events))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
