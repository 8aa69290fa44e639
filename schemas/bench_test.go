package schemas

import (
	"fmt"
	"testing"
)

// benchBatch is a batch of 256 typical file events, as a sensor under load publishes.
func benchBatch() *Batch {
	b := &Batch{Host: "node-1", BootID: "5d3c1f0e-8a5b-4c52-9d3e-1b2a3c4d5e6f", Dev: dev}
	for i := range 256 {
		ev := creation()
		ev.Seq += uint64(i)
		ev.Ino += uint64(i)
		ev.Name = fmt.Appendf(nil, "file-%d.txt", i)
		if i%4 == 1 {
			ev.Kind = KindOpen
		}
		b.Events = append(b.Events, ev)
	}
	return b
}

func BenchmarkEncodeBatch(b *testing.B) {
	batch := benchBatch()
	buf, _ := EncodeBatch(nil, batch)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = EncodeBatch(buf[:0], batch)
	}
	b.ReportMetric(float64(b.N*len(batch.Events))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(buf))/float64(len(batch.Events)), "bytes/event")
}

func BenchmarkDecodeBatch(b *testing.B) {
	batch := benchBatch()
	data, _ := EncodeBatch(nil, batch)
	var got Batch
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeBatch(data, &got); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch.Events))/b.Elapsed().Seconds(), "events/s")
}
