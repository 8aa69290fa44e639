package schemas

import (
	"bytes"
	"strings"
	"testing"
)

func TestMsgIDRoundTrip(t *testing.T) {
	id := MsgID("node-1", "4f1c0c3e-8f6a-4b8e-9d55-2f2b1f0a7e11", 42)
	if id != "node-1:4f1c0c3e-8f6a-4b8e-9d55-2f2b1f0a7e11:42" {
		t.Fatalf("MsgID = %q", id)
	}
	host, boot, seq, ok := ParseMsgID(id)
	if !ok || host != "node-1" || boot != "4f1c0c3e-8f6a-4b8e-9d55-2f2b1f0a7e11" || seq != 42 {
		t.Fatalf("ParseMsgID(%q) = %q %q %d %v", id, host, boot, seq, ok)
	}
	for _, bad := range []string{"", "node", "node:boot", ":boot:1", "node:boot:x", "node:boot:01", "node:boot:-1"} {
		if _, _, _, ok := ParseMsgID(bad); ok {
			t.Errorf("ParseMsgID(%q) accepted", bad)
		}
	}
}

func TestAppendBatchEnvelopeMatchesEncodeBatch(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 0xffff, 0x10000} {
		b := Batch{Host: "node-1", BootID: "boot", BatchSeq: 7, Dev: 66307}
		var events []byte
		for i := range n {
			ev := RawEvent{Kind: KindOpen, Seq: uint64(i + 1), Dev: 66307, Ino: 9}
			b.Events = append(b.Events, ev)
			events, _ = AppendEvent(events, &ev, b.Dev)
		}
		want, err := EncodeBatch(nil, &b)
		if err != nil {
			t.Fatal(err)
		}
		got := append(AppendBatchEnvelope(nil, &b, n), events...)
		if !bytes.Equal(got, want) {
			t.Errorf("%d events: AppendBatchEnvelope+AppendEvent differ from EncodeBatch", n)
		}
	}
}

func TestSubjectParsers(t *testing.T) {
	if h, d, ok := ParseIngestSubject(IngestSubject("node-1", 66307)); !ok || h != "node-1" || d != 66307 {
		t.Errorf("ParseIngestSubject = %q %d %v", h, d, ok)
	}
	if h, typ, ok := ParseActivitySubject(ActivitySubject("node-1", "rename")); !ok || h != "node-1" || typ != "rename" {
		t.Errorf("ParseActivitySubject = %q %q %v", h, typ, ok)
	}
	if h, v, ok := ParseControlSubject(ControlSubject("node-1", VerbStatus)); !ok || h != "node-1" || v != VerbStatus {
		t.Errorf("ParseControlSubject = %q %q %v", h, v, ok)
	}
	if f := RawHostFilter("node-1"); f != "fact.raw.*.node-1.*" {
		t.Errorf("RawHostFilter = %q", f)
	}
	for _, bad := range []string{"fact.in.node", "fact.in..1", "fact.in.a.b.1", "fact.raw.1.a.1", "fact.in.a.01"} {
		if _, _, ok := ParseIngestSubject(bad); ok {
			t.Errorf("ParseIngestSubject(%q) accepted", bad)
		}
	}
}

func FuzzParseMsgID(f *testing.F) {
	f.Add("node-1:boot:1")
	f.Add("a:b:c:18446744073709551615")
	f.Add("::")
	f.Fuzz(func(t *testing.T, id string) {
		host, boot, seq, ok := ParseMsgID(id)
		if ok && MsgID(host, boot, seq) != id {
			t.Fatalf("ParseMsgID(%q) = %q %q %d, which MsgID writes as %q", id, host, boot, seq, MsgID(host, boot, seq))
		}
	})
}

func FuzzParseIngestSubject(f *testing.F) {
	f.Add("fact.in.node-1.66307")
	f.Add("fact.in..")
	f.Fuzz(func(t *testing.T, s string) {
		host, dev, ok := ParseIngestSubject(s)
		if ok && IngestSubject(host, dev) != s {
			t.Fatalf("ParseIngestSubject(%q) = %q %d, which IngestSubject writes as %q", s, host, dev, IngestSubject(host, dev))
		}
	})
}

func FuzzParseActivitySubject(f *testing.F) {
	fuzzHostToken(f, "fact.activity.node-1.rename", ParseActivitySubject, ActivitySubject)
}

func FuzzParseControlSubject(f *testing.F) {
	fuzzHostToken(f, "fact.ctl.node-1.status", ParseControlSubject, ControlSubject)
}

// fuzzHostToken checks that what parse accepts, format writes back to the same subject.
func fuzzHostToken(f *testing.F, seed string, parse func(string) (string, string, bool), format func(string, string) string) {
	f.Add(seed)
	f.Add(seed[:strings.IndexByte(seed, '.')+1] + "..")
	f.Fuzz(func(t *testing.T, s string) {
		host, token, ok := parse(s)
		if ok && format(host, token) != s {
			t.Fatalf("parse(%q) = %q %q, which is written as %q", s, host, token, format(host, token))
		}
	})
}

func FuzzParseCheckpointSubject(f *testing.F) {
	f.Add("fact.ckpt.17")
	f.Add("fact.ckpt.+1")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := ParseCheckpointSubject(s)
		if ok && CheckpointSubject(p) != s {
			t.Fatalf("ParseCheckpointSubject(%q) = %d, which CheckpointSubject writes as %q", s, p, CheckpointSubject(p))
		}
	})
}
