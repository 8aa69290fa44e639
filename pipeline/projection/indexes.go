package projection

import (
	"cmp"
	"io"
	"slices"
	"strings"

	"github.com/factstream/factstream/pipeline/internal/snapcodec"
	"github.com/factstream/factstream/schemas"
)

// Key names the filesystem of a host that one Index covers.
type Key struct {
	Host string
	Dev  uint64
}

func (k Key) compare(o Key) int {
	return cmp.Or(strings.Compare(k.Host, o.Host), cmp.Compare(k.Dev, o.Dev))
}

// Indexes holds the Index of every filesystem of every host in a partition of the raw stream. It is not
// safe for concurrent use.
type Indexes struct {
	m    map[Key]*Index
	last Key
	lx   *Index // the index of last, the usual one for the next event
}

// NewIndexes returns an empty set of indexes.
func NewIndexes() *Indexes {
	return &Indexes{m: make(map[Key]*Index)}
}

// Apply applies an event of host to the index of the event's filesystem, which it creates on first use.
// Events that are not about a filesystem (exec, fork, exit) change nothing.
func (s *Indexes) Apply(host string, ev *schemas.RawEvent) Change {
	if ev.Kind.Process() {
		return Change{}
	}
	k := Key{host, ev.Dev}
	if s.lx == nil || k != s.last {
		s.last, s.lx = k, s.Ensure(k)
	}
	return s.lx.Apply(ev)
}

// ApplyBatch applies the events of a decoded batch in order and calls fn, when not nil, with each event
// and its change. The change is valid only during the call.
func (s *Indexes) ApplyBatch(b *schemas.Batch, fn func(ev *schemas.RawEvent, c Change)) {
	for i := range b.Events {
		c := s.Apply(b.Host, &b.Events[i])
		if fn != nil {
			fn(&b.Events[i], c)
		}
	}
}

// Index returns the index of k, nil if no event of it was applied.
func (s *Indexes) Index(k Key) *Index { return s.m[k] }

// Keys returns the keys of the indexes, sorted by host and device.
func (s *Indexes) Keys() []Key {
	keys := make([]Key, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, Key.compare)
	return keys
}

// WriteSnapshot writes every index, in the order of Keys, recording that they cover the raw stream up
// to the stream sequence covers.
func (s *Indexes) WriteSnapshot(w io.Writer, covers uint64) error {
	e := snapcodec.NewWriter(w)
	e.Header(indexesMagic, SnapshotVersion)
	e.Uint(covers)
	keys := s.Keys()
	e.Count(len(keys))
	for _, k := range keys {
		e.Str(k.Host)
		e.Uint(k.Dev)
		s.m[k].encode(e)
	}
	return e.Flush()
}

// ReadIndexesSnapshot reads indexes written by Indexes.WriteSnapshot and the stream sequence they cover.
// Errors wrap ErrBadSnapshot.
func ReadIndexesSnapshot(r io.Reader) (*Indexes, uint64, error) {
	d := snapcodec.NewReader(r)
	version := d.HeaderIn(indexesMagic, OldestSnapshotVersion, SnapshotVersion)
	covers := d.Uint()
	s := NewIndexes()
	n := d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		k := Key{Host: d.Str(snapcodec.MaxName), Dev: d.Uint()}
		if _, dup := s.m[k]; dup && d.Err() == nil {
			d.Failf("index %s/%d twice", k.Host, k.Dev)
		}
		s.m[k] = decodeIndex(d, version)
	}
	if err := d.End(); err != nil {
		return nil, 0, err
	}
	return s, covers, nil
}

// Ensure returns the index of k, creating an empty one when no event of it was applied yet.
func (s *Indexes) Ensure(k Key) *Index {
	x := s.m[k]
	if x == nil {
		x = NewIndex()
		s.m[k] = x
	}
	return x
}
