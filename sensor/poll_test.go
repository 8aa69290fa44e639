package sensor

import (
	"reflect"
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"go.uber.org/zap/zaptest"
)

// TestPublishLossesPerDev: a drop the publisher reports becomes one loss event on the filesystem whose
// batches were dropped (dev 0 too), with its event count and reason; a spool corruption becomes a loss
// on every filesystem published on.
func TestPublishLossesPerDev(t *testing.T) {
	pub := &capture{}
	b := testBatcher(t, BatchConfig{MaxEvents: 1 << 10, MaxBytes: 1 << 20, MaxDelay: time.Hour}, pub)
	ev := fileEvent(2049, 1, "f")
	if err := b.add(&ev, fromKernel); err != nil {
		t.Fatal(err)
	}
	s := &Sensor{batch: b, log: zaptest.NewLogger(t)}
	s.onPublishLoss(publish.LossReport{Drops: []publish.Drop{
		{Dev: 0, Reason: publish.ReasonSpoolError, Batches: 1, Events: 3},
		{Dev: 2050, Reason: publish.ReasonSpoolFull, Batches: 2, Events: 16},
	}})
	s.publishLosses()
	b.flush()
	type loss struct {
		dev, lost uint64
		hook      string
	}
	var got []loss
	for _, ev := range pub.events(t) {
		if ev.Kind == schemas.KindLoss {
			got = append(got, loss{ev.Dev, ev.Lost, ev.Hook})
		}
	}
	want := []loss{{0, 3, string(publish.ReasonSpoolError)}, {2050, 16, string(publish.ReasonSpoolFull)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("loss events %+v, want %+v", got, want)
	}

	pub.msgs = nil
	s.onPublishLoss(publish.LossReport{Corruptions: []publish.SpoolCorruption{{File: "x.seg", Bytes: 9, Reason: "torn record body"}}})
	s.publishLosses()
	b.flush()
	devs := map[uint64]bool{}
	for _, ev := range pub.events(t) {
		if ev.Kind == schemas.KindLoss && ev.Hook == HookSpoolCorrupt {
			devs[ev.Dev] = true
		}
	}
	if want := map[uint64]bool{0: true, 2049: true, 2050: true}; !reflect.DeepEqual(devs, want) {
		t.Fatalf("spool corruption reported on %v, want %v", devs, want)
	}
}
