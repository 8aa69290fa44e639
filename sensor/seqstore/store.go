package seqstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Counter names one of the store's counters.
type Counter int

// The counters.
const (
	Events  Counter = iota // the sensor sequence of raw events
	Batches                // the batch sequence, part of each batch's message id
	Epochs                 // scan epochs
	numCounters
)

func (c Counter) String() string {
	switch c {
	case Events:
		return "events"
	case Batches:
		return "batches"
	case Epochs:
		return "epochs"
	}
	return fmt.Sprintf("counter(%d)", int(c))
}

// FileName is the state file inside the state directory.
const FileName = "sequence"

// Default block sizes: how far a mark moves when a counter reaches it. A crash skips at most one block.
var defaultBlocks = [numCounters]uint64{Events: 1 << 20, Batches: 1 << 14, Epochs: 16}

// Options tune a Store. The zero value uses the defaults.
type Options struct {
	// Blocks are the block sizes per counter; zero entries take the defaults (2^20 events, 2^14
	// batches, 16 epochs).
	Blocks [numCounters]uint64
	// OnSync, when set, is called with the time each mark write took (for a metric).
	OnSync func(seconds float64)
}

// file is what the store needs of its state file; tests substitute one that can crash.
type file interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Close() error
}

// Store hands out numbers that are never reused within a boot. Create with Open.
type Store struct {
	mu     sync.Mutex
	f      file
	boot   string
	opts   Options
	next   [numCounters]uint64 // next number to hand out
	limit  [numCounters]uint64 // durable mark: numbers below it may have been used
	gen    uint64              // generation of the newest slot on disk
	closed bool
}

// Open opens (creating if needed) the state file in dir for the boot bootID.
func Open(dir, bootID string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening sequence store: %w", err)
	}
	name := filepath.Join(dir, FileName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening sequence store: %w", err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("opening sequence store: %w", err)
	}
	s, err := open(f, bootID, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening sequence store %s: %w", name, err)
	}
	return s, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// open recovers the marks from f.
func open(f file, bootID string, opts Options) (*Store, error) {
	if bootID == "" || len(bootID) > maxBootID {
		return nil, fmt.Errorf("%w: %q", ErrBootID, bootID)
	}
	for i := range opts.Blocks {
		if opts.Blocks[i] == 0 {
			opts.Blocks[i] = defaultBlocks[i]
		}
	}
	s := &Store{f: f, boot: bootID, opts: opts}
	sl, found, err := readNewest(f)
	if err != nil {
		return nil, err
	}
	for c := range numCounters {
		s.next[c], s.limit[c] = 1, 1
	}
	if found {
		s.gen = sl.gen
		if sl.boot == bootID {
			s.next, s.limit = sl.marks, sl.marks
		}
	}
	return s, nil
}

// Next reserves n consecutive numbers of counter c and returns the first. It writes and fsyncs a new
// mark first when the numbers would pass the current one.
func (s *Store) Next(c Counter, n uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	first := s.next[c]
	if first+n > s.limit[c] {
		limit := s.limit
		limit[c] = first + n + s.opts.Blocks[c]
		if err := s.persist(limit); err != nil {
			return 0, err
		}
	}
	s.next[c] = first + n
	return first, nil
}

// Peek returns the next number counter c would hand out.
func (s *Store) Peek(c Counter) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next[c]
}

// persist writes marks into the older slot and fsyncs it; only then are they in effect.
func (s *Store) persist(marks [numCounters]uint64) error {
	sl := slot{gen: s.gen + 1, boot: s.boot, marks: marks}
	buf := sl.encode()
	start := time.Now()
	if _, err := s.f.WriteAt(buf[:], int64(sl.gen%2)*slotSize); err != nil {
		return fmt.Errorf("writing sequence mark: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("syncing sequence mark: %w", err)
	}
	if s.opts.OnSync != nil {
		s.opts.OnSync(time.Since(start).Seconds())
	}
	s.gen, s.limit = sl.gen, marks
	return nil
}

// Close writes the exact marks, so that the next run of the same boot continues where this one stopped,
// and closes the file. Only a run that does not close (a crash) makes the next one skip what it reserved
// and did not hand out: consumers see a hole only where numbers may really have been used.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.next != s.limit {
		err = s.persist(s.next)
	}
	if cerr := s.f.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("closing sequence store: %w", err)
	}
	return nil
}

// Slot layout (little endian), slotSize bytes:
//
//	[8] magic "FSSEQv01"  [8] generation  [1] boot id length  [maxBootID] boot id
//	[8 × numCounters] marks  [4] CRC-32C of everything before it
const (
	maxBootID = 64
	slotBody  = 8 + 8 + 1 + maxBootID + 8*int(numCounters)
	slotSize  = 256
)

var (
	slotMagic = [8]byte{'F', 'S', 'S', 'E', 'Q', 'v', '0', '1'}
	crcTable  = crc32.MakeTable(crc32.Castagnoli)
)

type slot struct {
	gen   uint64
	boot  string
	marks [numCounters]uint64
}

func (sl *slot) encode() [slotSize]byte {
	var b [slotSize]byte
	copy(b[:8], slotMagic[:])
	binary.LittleEndian.PutUint64(b[8:], sl.gen)
	b[16] = byte(len(sl.boot))
	copy(b[17:17+maxBootID], sl.boot)
	off := 17 + maxBootID
	for i, m := range sl.marks {
		binary.LittleEndian.PutUint64(b[off+8*i:], m)
	}
	binary.LittleEndian.PutUint32(b[slotBody:], crc32.Checksum(b[:slotBody], crcTable))
	return b
}

func decodeSlot(b []byte) (slot, bool) {
	if len(b) < slotBody+4 || [8]byte(b[:8]) != slotMagic {
		return slot{}, false
	}
	if crc32.Checksum(b[:slotBody], crcTable) != binary.LittleEndian.Uint32(b[slotBody:]) {
		return slot{}, false
	}
	n := int(b[16])
	if n > maxBootID {
		return slot{}, false
	}
	sl := slot{gen: binary.LittleEndian.Uint64(b[8:]), boot: string(b[17 : 17+n])}
	off := 17 + maxBootID
	for i := range sl.marks {
		sl.marks[i] = binary.LittleEndian.Uint64(b[off+8*i:])
	}
	return sl, true
}

// readNewest returns the valid slot with the highest generation. An empty file has none; a file with
// bytes but no valid slot is ErrCorrupt.
func readNewest(f file) (slot, bool, error) {
	var buf [2 * slotSize]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return slot{}, false, fmt.Errorf("reading sequence marks: %w", err)
	}
	var best slot
	found := false
	for i := range 2 {
		lo, hi := i*slotSize, (i+1)*slotSize
		if hi > n {
			continue
		}
		if sl, ok := decodeSlot(buf[lo:hi]); ok && (!found || sl.gen > best.gen) {
			best, found = sl, true
		}
	}
	if !found && !allZero(buf[:n]) {
		return slot{}, false, fmt.Errorf("%w: %d bytes, no valid slot", ErrCorrupt, n)
	}
	return best, found, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
