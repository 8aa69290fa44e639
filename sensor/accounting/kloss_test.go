package accounting

import (
	"reflect"
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
)

// TestKernelLossAcrossRestart: counter rises explain this run's holes first, so the holes across a restart
// keep their name; every hole is counted once.
func TestKernelLossAcrossRestart(t *testing.T) {
	now := time.Unix(0, 0)
	k := newKernelLoss(schemas.Counters{"file_open": {RingbufferFull: 10}}, time.Second)
	k.addHoles([]schemas.SeqRange{{Lo: 5, Hi: 7}}, true)    // read by the previous run, never delivered
	k.addHoles([]schemas.SeqRange{{Lo: 20, Hi: 23}}, false) // the ring was full while nobody read it
	losses, ranges := k.poll(schemas.Counters{"file_open": {RingbufferFull: 14}}, now)
	want := []Loss{{"file_open", 4}, {HookRestart, 3}}
	if !reflect.DeepEqual(losses, want) {
		t.Fatalf("losses %v, want %v", losses, want)
	}
	if !reflect.DeepEqual(ranges, []schemas.SeqRange{{Lo: 5, Hi: 7}, {Lo: 20, Hi: 23}}) {
		t.Fatalf("ranges %v", ranges)
	}
	if losses, _ := k.poll(nil, now.Add(time.Hour)); len(losses) != 0 {
		t.Fatalf("reported again: %v", losses)
	}
}
