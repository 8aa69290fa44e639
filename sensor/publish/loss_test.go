package publish

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestLossBookByDev: drops are kept per dev and reason, whatever the subject, and reported sorted by dev
// then reason with their ranges merged.
func TestLossBookByDev(t *testing.T) {
	var b lossBook
	for _, d := range []struct {
		dev         uint64
		reason      DropReason
		first, last uint64
	}{
		{2050, ReasonSpoolFull, 20, 29},
		{2049, ReasonSpoolFull, 0, 9},
		{2049, ReasonRejected, 30, 39},
		{2049, ReasonSpoolFull, 10, 19},
		{0, ReasonSpoolError, 40, 40},
	} {
		m := Msg{Subject: "ignored", Dev: d.dev, Events: int(d.last - d.first + 1), FirstSeq: d.first, LastSeq: d.last}
		b.add(&m, d.reason)
	}
	want := []Drop{
		{Dev: 0, Reason: ReasonSpoolError, Batches: 1, Events: 1, Ranges: []SeqRange{{40, 40}}},
		{Dev: 2049, Reason: ReasonRejected, Batches: 1, Events: 10, Ranges: []SeqRange{{30, 39}}},
		{Dev: 2049, Reason: ReasonSpoolFull, Batches: 2, Events: 20, Ranges: []SeqRange{{0, 19}}},
		{Dev: 2050, Reason: ReasonSpoolFull, Batches: 1, Events: 10, Ranges: []SeqRange{{20, 29}}},
	}
	if got := b.take().Drops; !reflect.DeepEqual(got, want) {
		t.Fatalf("drops %+v, want %+v", got, want)
	}
}

// TestLossFileRoundTrip: a saved report is loaded back as it was, and merging it keeps it.
func TestLossFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := LossReport{
		Drops:       []Drop{{Dev: 2049, Reason: ReasonSpoolFull, Batches: 2, Events: 16, Ranges: []SeqRange{{0, 15}}, Widened: true}},
		Corruptions: []SpoolCorruption{{File: "x.seg", Offset: 8, Bytes: 3, Reason: "torn record body"}},
	}
	if err := saveLoss(dir, r); err != nil {
		t.Fatal(err)
	}
	got, err := loadLoss(dir)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("loaded %+v, %v, want %+v", got, err, r)
	}
	var b lossBook
	b.merge(got)
	if merged := b.report(); !reflect.DeepEqual(merged, r) {
		t.Fatalf("merged %+v, want %+v", merged, r)
	}
}

// TestLossFileKeyedBySubject: a loss file saved when drops were keyed by subject loads with the dev the
// subject names; one whose subject names none is reported as unreadable rather than put on a dev.
func TestLossFileKeyedBySubject(t *testing.T) {
	dir := t.TempDir()
	old := `{"drops":[{"subject":"fact.in.h1.2050","reason":"spool_full","batches":1,"events":8,"ranges":[{"first":8,"last":15}]}]}`
	if err := os.WriteFile(filepath.Join(dir, lossFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadLoss(dir)
	want := LossReport{Drops: []Drop{{Dev: 2050, Reason: ReasonSpoolFull, Batches: 1, Events: 8, Ranges: []SeqRange{{8, 15}}}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded %+v, %v, want %+v", got, err, want)
	}

	bad := `{"drops":[{"subject":"elsewhere","reason":"spool_full","batches":1,"events":8}]}`
	if err := os.WriteFile(filepath.Join(dir, lossFile), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = loadLoss(dir)
	if err != nil || len(got.Drops) != 0 || len(got.Corruptions) != 1 || got.Corruptions[0].File != lossFile {
		t.Fatalf("loaded %+v, %v, want one corruption of %s", got, err, lossFile)
	}
}
