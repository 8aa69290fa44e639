package changeset

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/factstream/factstream/schemas"
)

// The kinds of Change, in the order a file's changes are listed.
const (
	Added   = "added"   // the file exists at the end and did not at the start
	Removed = "removed" // the file existed at the start and does not at the end
	Renamed = "renamed" // the file is at another path at the end
	Content = "content" // its content hash differs
	Mode    = "mode"    // its permission bits differ
	Owner   = "owner"   // its owner or group differs
	Drift   = "drift"   // a scan found it changed without an event that explains it
	Written = "written" // written but left with the hash it had (Options.All only)
)

var kindOrder = []string{Removed, Added, Renamed, Content, Mode, Owner, Drift, Written}

// Change is one line of a Report. Which fields a kind sets: Added sets Hash (when known), Mode, UID,
// GID; Removed only Path; Renamed OldPath; Content Hash and OldHash (HashState when the last content
// event has no hash); Mode Mode and OldMode; Owner UID, GID, OldUID, OldGID; Drift the values the scans
// reported (Hash, OldHash, Mode, OldMode, owners, Size, as the drift events carried them); Written Hash.
type Change struct {
	Kind string
	// Path is the file's host path at the period's end; for Removed, at its start.
	Path []byte
	// OldPath is the host path at the period's start (Renamed).
	OldPath []byte
	// Dev and Ino are the file's identity as the events named it.
	Dev, Ino uint64

	Hash, OldHash  string
	HashState      string
	Mode, OldMode  uint32 // st_mode as the events carry it, file type included
	UID, GID       uint32
	OldUID, OldGID uint32
	Size           uint64
}

// Gap is a gap event of the period: the change set may be incomplete on filesystem Dev from Time.
type Gap struct {
	Time   int64
	Dev    uint64
	Reason string
	Lost   uint64
}

// Report is the net change set of a period.
type Report struct {
	// Changes, sorted by Path, then by kind (removed, added, renamed, content, mode, owner, drift,
	// written), then by identity.
	Changes []Change
	// Gaps of the period: when there are any, the change set may miss changes.
	Gaps []Gap
}

// Incomplete reports whether the period had gaps.
func (r *Report) Incomplete() bool { return len(r.Gaps) > 0 }

// Options tune Compute.
type Options struct {
	// All reports files written but left with the hash they had (kind Written).
	All bool
	// Match, when set, keeps only the changes whose Path or OldPath it accepts.
	Match func(path []byte) bool
}

// Compute folds events, in time order, into the net change set of the period they cover.
func Compute(events []schemas.Activity, opts Options) Report {
	f := newFolder()
	for i := range events {
		f.apply(&events[i])
	}
	var r Report
	r.Gaps = f.gaps
	for _, fl := range f.files {
		for _, c := range fl.changes(opts.All) {
			if opts.Match == nil || opts.Match(c.Path) || (len(c.OldPath) > 0 && opts.Match(c.OldPath)) {
				r.Changes = append(r.Changes, c)
			}
		}
	}
	sortChanges(r.Changes)
	return r
}

// sortChanges orders changes by path, then by kind, then by inode.
func sortChanges(cs []Change) {
	slices.SortFunc(cs, func(a, b Change) int {
		return cmp.Or(bytes.Compare(a.Path, b.Path),
			cmp.Compare(slices.Index(kindOrder, a.Kind), slices.Index(kindOrder, b.Kind)),
			cmp.Compare(a.Dev, b.Dev), cmp.Compare(a.Ino, b.Ino))
	})
}
