package projection

import (
	"bytes"
	"slices"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

func TestIndexes(t *testing.T) {
	s := NewIndexes()
	evs := base()
	// The same inodes on two hosts and two filesystems are four independent trees.
	for _, host := range []string{"b", "a"} {
		for _, dev := range []uint64{2, 1} {
			b := schemas.Batch{Host: host, Dev: dev, Events: slices.Clone(evs)}
			for i := range b.Events {
				b.Events[i].Dev = dev
			}
			b.Events = append(b.Events, eventtest.Create(20, 11, host+"-"+string(rune('0'+dev))))
			b.Events[len(b.Events)-1].Dev = dev
			b.Events = append(b.Events, schemas.RawEvent{Kind: schemas.KindExec})
			var last Change
			s.ApplyBatch(&b, func(ev *schemas.RawEvent, c Change) {
				if ev.Kind == schemas.KindCreation {
					last = Change{Path: bytes.Clone(c.Path)}
				}
			})
			if want := "/srv/mon/etc/" + host + "-" + string(rune('0'+dev)); string(last.Path) != want {
				t.Fatalf("got %q, want %q", last.Path, want)
			}
		}
	}
	keys := s.Keys()
	if want := []Key{{"a", 1}, {"a", 2}, {"b", 1}, {"b", 2}}; !slices.Equal(keys, want) {
		t.Fatalf("keys %v", keys)
	}
	if got := joined(s.Index(Key{"b", 1}).Paths(20)); got != "/srv/mon/etc/b-1" {
		t.Fatalf("got %q", got)
	}
	var buf bytes.Buffer
	if err := s.WriteSnapshot(&buf, 77); err != nil {
		t.Fatal(err)
	}
	r, covers, err := ReadIndexesSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil || covers != 77 {
		t.Fatal(covers, err)
	}
	var again bytes.Buffer
	if err := r.WriteSnapshot(&again, 77); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("restored indexes differ")
	}
	if _, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes())); err == nil {
		t.Fatal("an Indexes snapshot read as an Index")
	}
}
