package publish

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// The spool is a bounded FIFO of messages on disk: append-only segment files in one directory, read back
// in order, each segment deleted once every record in it has been acknowledged. It is not safe for
// concurrent use; the Publisher guards it with its mutex.
//
// Durability: records are written with one write(2) each, so a killed process loses nothing it spooled.
// Against a power or kernel failure the segment is fsynced every Config.SyncInterval (or after every
// record), when it is sealed and on close; what was written after the last fsync may be torn, which the
// per-record CRC detects on the next open: the tail is truncated and reported as a SpoolCorruption.

const (
	segmentExt = ".seg"
	cursorFile = "cursor"
	// firstSegmentID leaves room below for head segments written at close (see writeHead).
	firstSegmentID = uint64(1) << 40
)

var errSpoolFull = errors.New("spool full")

type spoolConfig struct {
	dir          string
	limit        int64     // bytes of segment files
	segmentBytes int64     // a segment is sealed once it would grow past this
	syncEach     bool      // fsync after every record
	visit        func(Msg) // sees each record found on opening
}

// segment is one spool file.
type segment struct {
	id      uint64
	size    int64 // valid bytes, header included
	start   int64 // offset of the first record to deliver (after the cursor)
	unread  int   // records at or after the read position not yet handed out
	unacked int   // records handed out and not yet acknowledged
	version byte  // the record layout (see record.go)
}

func (g *segment) name() string { return fmt.Sprintf("%016x%s", g.id, segmentExt) }

type spool struct {
	cfg  spoolConfig
	log  *zap.Logger
	segs []*segment // ascending id

	w    *os.File // appends to wseg
	wseg *segment
	wbuf []byte

	rid  uint64 // reader: segments with a smaller id are fully read
	roff int64  // offset in segment rid; below its start (0) means at its start
	rf   *os.File

	cursorID uint64 // id named by the cursor file on disk, 0 if none
	lastID   uint64 // highest segment id seen or created: ids only grow, so the reader never misses one
	bytes    int64
	unread   int
	unacked  int
	dirty    bool // written since the last fsync
	newFile  bool // a file was created since the last directory fsync
	corrupt  []SpoolCorruption
	lock     *os.File // flock on the directory, held until close or release
}

// openSpool recovers the spool in cfg.dir, truncating corrupt tails; they are returned in takeCorrupt.
func openSpool(cfg spoolConfig, log *zap.Logger) (*spool, error) {
	lock, err := lockDir(cfg.dir)
	if err != nil {
		return nil, err
	}
	s := &spool{cfg: cfg, log: log, lock: lock}
	if err := s.recover(); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

// recover loads the segments and the cursor.
func (s *spool) recover() error {
	ids, err := listSegments(s.cfg.dir)
	if err != nil {
		return err
	}
	curID, curOff := readCursor(s.cfg.dir, s.log)
	s.cursorID = curID
	for _, id := range ids {
		s.lastID = max(s.lastID, id)
		off := int64(0)
		if id == curID {
			off = curOff
		}
		if err := s.recoverSegment(id, off); err != nil {
			return err
		}
	}
	return nil
}

// listSegments returns the segment ids in dir, ascending, and removes temporary files left by a crash.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing spool: %w", err)
	}
	var ids []uint64
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, segmentExt) {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, segmentExt), 16, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// recoverSegment scans one segment, truncates it at the first bad record and adds it to the spool if it
// holds records to deliver; an empty or fully delivered segment is removed.
func (s *spool) recoverSegment(id uint64, cursorOff int64) error {
	g := &segment{id: id}
	path := filepath.Join(s.cfg.dir, g.name())
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("opening spool segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading spool segment: %w", err)
	}
	valid, records, starts, version, reason := scanSegment(f, s.cfg.visit)
	g.version = version
	if valid < st.Size() {
		s.noteCorrupt(g.name(), valid, st.Size()-valid, reason)
		if err := truncate(f, valid); err != nil {
			return err
		}
	}
	g.size, g.start = valid, int64(len(segmentMagic))
	if cursorOff > 0 {
		if i, ok := slices.BinarySearch(starts, cursorOff); ok || cursorOff == valid {
			g.start, records = cursorOff, records-i
		} else {
			s.log.Warn("spool cursor is not at a record boundary; redelivering the segment (duplicates are dropped by the server)",
				zap.String("segment", g.name()), zap.Int64("offset", cursorOff))
		}
	}
	if records == 0 || valid < int64(len(segmentMagic)) {
		return s.removeFile(g.name())
	}
	g.unread = records
	s.segs = append(s.segs, g)
	s.bytes += g.size
	s.unread += records
	return nil
}

// scanSegment returns the length of the valid prefix of a segment, its record count, the offsets where
// records start, its version, and why the rest (if any) is invalid. visit, when not nil, sees each valid
// record.
func scanSegment(f *os.File, visit func(Msg)) (valid int64, records int, starts []int64, version byte, reason string) {
	r := bufio.NewReaderSize(f, 256<<10)
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return 0, 0, nil, 0, "bad segment header"
	}
	version, ok := magicVersion(magic)
	if !ok {
		return 0, 0, nil, 0, "bad segment header"
	}
	valid = int64(len(magic))
	var body []byte
	for {
		var h [recordHeaderSize]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return valid, records, starts, version, ""
			}
			return valid, records, starts, version, "torn record header"
		}
		n, sum, err := parseHeader(h[:])
		if err != nil {
			return valid, records, starts, version, err.Error()
		}
		body = slices.Grow(body[:0], n)[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return valid, records, starts, version, "torn record body"
		}
		m, err := decodeBody(body, sum, version)
		if err != nil {
			return valid, records, starts, version, err.Error()
		}
		if visit != nil {
			visit(m)
		}
		starts = append(starts, valid)
		valid += int64(recordHeaderSize + n)
		records++
	}
}

func truncate(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("truncating corrupt spool tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing truncated spool segment: %w", err)
	}
	return nil
}

func (s *spool) noteCorrupt(file string, off, n int64, reason string) {
	c := SpoolCorruption{File: file, Offset: off, Bytes: n, Reason: reason}
	s.log.Error("spool corrupt: truncated what could not be read back", zap.String("file", file),
		zap.Int64("offset", off), zap.Int64("bytes", n), zap.String("reason", reason))
	s.corrupt = append(s.corrupt, c)
}

// takeCorrupt returns the corruptions found since the last call.
func (s *spool) takeCorrupt() []SpoolCorruption {
	c := s.corrupt
	s.corrupt = nil
	return c
}

func (s *spool) removeFile(name string) error {
	if err := os.Remove(filepath.Join(s.cfg.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing spool segment: %w", err)
	}
	return nil
}

// records is the number of records not yet acknowledged.
func (s *spool) records() int { return s.unread + s.unacked }

// append writes m at the end of the spool, or returns errSpoolFull.
func (s *spool) append(m *Msg) error {
	n := recordSize(m)
	rotate := s.wseg == nil || (s.wseg.size+n > s.cfg.segmentBytes && s.wseg.size > int64(len(segmentMagic)))
	need := n
	if rotate {
		need += int64(len(segmentMagic))
	}
	if s.bytes+need > s.cfg.limit {
		return errSpoolFull
	}
	if rotate {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	s.wbuf = encodeRecord(s.wbuf[:0], m)
	if _, err := s.w.Write(s.wbuf); err != nil {
		_ = s.w.Truncate(s.wseg.size) // drop a partial record; the CRC would catch it anyway
		return fmt.Errorf("appending to spool: %w", err)
	}
	s.wseg.size += n
	s.wseg.unread++
	s.bytes += n
	s.unread++
	s.dirty = true
	if s.cfg.syncEach {
		return s.sync()
	}
	return nil
}

// rotate seals the write segment (fsync) and starts a new one.
func (s *spool) rotate() error {
	if s.w != nil {
		if err := s.closeWriter(); err != nil {
			return err
		}
	}
	g := &segment{id: s.nextID(), size: int64(len(segmentMagic)), start: int64(len(segmentMagic)), version: segmentVersion}
	f, err := os.OpenFile(filepath.Join(s.cfg.dir, g.name()), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("creating spool segment: %w", err)
	}
	if _, err := f.Write(segmentMagic[:]); err != nil {
		f.Close()
		return fmt.Errorf("writing spool segment header: %w", err)
	}
	s.w, s.wseg = f, g
	s.segs = append(s.segs, g)
	s.bytes += g.size
	s.newFile, s.dirty = true, true
	return nil
}

// nextID is above every segment seen and the cursor, so a stale cursor never names a new segment and
// the reader never skips one.
func (s *spool) nextID() uint64 {
	s.lastID = max(firstSegmentID, s.cursorID+1, s.lastID+1)
	return s.lastID
}

func (s *spool) closeWriter() error {
	err := firstErr(s.sync(), s.w.Close())
	s.w, s.wseg = nil, nil
	if err != nil {
		return fmt.Errorf("sealing spool segment: %w", err)
	}
	return nil
}

// sync fsyncs what was written since the last call, and the directory if a file was created.
func (s *spool) sync() error {
	if s.dirty && s.w != nil {
		if err := s.w.Sync(); err != nil {
			return fmt.Errorf("syncing spool: %w", err)
		}
	}
	s.dirty = false
	if s.newFile {
		s.newFile = false
		return syncDir(s.cfg.dir)
	}
	return nil
}

// next hands out the oldest record not yet handed out, or nil when there is none. A record that cannot
// be read back is reported as corruption and the rest of its segment skipped.
func (s *spool) next() *item {
	for s.unread > 0 {
		g := s.readSeg()
		if g == nil {
			return nil
		}
		if s.roff < g.size {
			if it := s.readRecord(g); it != nil {
				return it
			}
			continue
		}
		if g.unread > 0 || g == s.wseg {
			return nil // cannot happen: unread records lie beyond the read position
		}
		s.rid, s.roff = g.id+1, 0 // move past g; readSeg positions at the next segment's start
		s.closeReader()
		s.maybeRemove(g)
	}
	return nil
}

// readSeg returns the segment the reader is in, moving to the next one when rid names a removed one.
func (s *spool) readSeg() *segment {
	for _, g := range s.segs {
		if g.id < s.rid {
			continue
		}
		if g.id != s.rid {
			s.closeReader()
			s.rid, s.roff = g.id, g.start
		}
		if s.roff < g.start {
			s.roff = g.start
		}
		return g
	}
	return nil
}

func (s *spool) closeReader() {
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
}

// readRecord reads the record at the read position of g.
func (s *spool) readRecord(g *segment) *item {
	m, n, err := s.readAt(g, s.roff)
	if err != nil {
		s.noteCorrupt(g.name(), s.roff, g.size-s.roff, err.Error())
		s.unread -= g.unread
		g.unread = 0
		s.roff = g.size
		s.maybeRemove(g)
		return nil
	}
	s.roff += n
	g.unread--
	g.unacked++
	s.unread--
	s.unacked++
	return &item{msg: m, seg: g}
}

func (s *spool) readAt(g *segment, off int64) (Msg, int64, error) {
	if s.rf == nil {
		f, err := os.Open(filepath.Join(s.cfg.dir, g.name()))
		if err != nil {
			return Msg{}, 0, err
		}
		s.rf = f
	}
	var h [recordHeaderSize]byte
	if _, err := s.rf.ReadAt(h[:], off); err != nil {
		return Msg{}, 0, err
	}
	n, sum, err := parseHeader(h[:])
	if err != nil {
		return Msg{}, 0, err
	}
	body := make([]byte, n)
	if _, err := s.rf.ReadAt(body, off+recordHeaderSize); err != nil {
		return Msg{}, 0, err
	}
	m, err := decodeBody(body, sum, g.version)
	return m, int64(recordHeaderSize + n), err
}

// ack marks one record handed out from g as delivered (or dropped for good).
func (s *spool) ack(g *segment) {
	g.unacked--
	s.unacked--
	s.maybeRemove(g)
}

// maybeRemove deletes g once it is fully read and acknowledged.
func (s *spool) maybeRemove(g *segment) {
	read := g.id < s.rid || (g.id == s.rid && s.roff >= g.size)
	if !read || g.unacked > 0 || g.unread > 0 {
		return
	}
	if g == s.wseg {
		if err := s.closeWriter(); err != nil {
			s.log.Warn("closing consumed spool segment", zap.Error(err))
		}
	}
	if g.id == s.rid {
		s.closeReader()
		s.rid, s.roff = g.id+1, 0
	}
	if err := s.removeFile(g.name()); err != nil {
		s.log.Warn("removing consumed spool segment", zap.Error(err))
	}
	s.bytes -= g.size
	s.segs = slices.DeleteFunc(s.segs, func(x *segment) bool { return x == g })
}

// writeHead persists items (everything not yet acknowledged that was read from the spool or held in
// memory, oldest first) in a new segment ordered before all others, then releases the spool records
// among them. It is called once, at close; it may take the spool past its limit by what was in memory.
func (s *spool) writeHead(items []*item) error {
	if len(items) == 0 {
		return nil
	}
	id := firstSegmentID - 1
	if len(s.segs) > 0 {
		id = s.segs[0].id - 1
	}
	if s.cursorID != 0 {
		id = min(id, s.cursorID-1)
	}
	g := &segment{id: id, version: segmentVersion}
	buf := append([]byte(nil), segmentMagic[:]...)
	for _, it := range items {
		buf = encodeRecord(buf, &it.msg)
	}
	if err := writeFileAtomic(s.cfg.dir, g.name(), buf); err != nil {
		return fmt.Errorf("spooling unacknowledged messages: %w", err)
	}
	g.size, g.start, g.unread = int64(len(buf)), int64(len(segmentMagic)), len(items)
	s.segs = slices.Insert(s.segs, 0, g)
	s.bytes += g.size
	s.unread += len(items)
	for _, it := range items {
		if it.seg != nil {
			s.ack(it.seg)
			it.seg = nil
		}
	}
	return nil
}

// close fsyncs and closes the files. With keepCursor it records the read position in the cursor file,
// so records before it (acknowledged, or copied by writeHead) are not delivered again after a restart;
// without, the next open delivers every segment from its start (the server drops the duplicates).
func (s *spool) close(keepCursor bool) error {
	var werr error
	if s.w != nil {
		werr = s.closeWriter()
	}
	s.closeReader()
	err := firstErr(werr, s.saveCursor(keepCursor))
	s.unlock()
	return err
}

func (s *spool) unlock() {
	if s.lock != nil {
		s.lock.Close() // closing the descriptor releases the flock
		s.lock = nil
	}
}

// release closes the files and the lock without syncing or touching the cursor (a failed start).
func (s *spool) release() {
	if s.w != nil {
		s.w.Close()
		s.w, s.wseg = nil, nil
	}
	s.closeReader()
	s.unlock()
}

func (s *spool) saveCursor(keep bool) error {
	for _, g := range s.segs {
		if keep && g.id == s.rid && s.roff > g.start {
			var b [20]byte
			binary.LittleEndian.PutUint64(b[0:], g.id)
			binary.LittleEndian.PutUint64(b[8:], uint64(s.roff))
			binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], crcTable))
			return writeFileAtomic(s.cfg.dir, cursorFile, b[:])
		}
	}
	if err := os.Remove(filepath.Join(s.cfg.dir, cursorFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing spool cursor: %w", err)
	}
	return nil
}

// readCursor returns the segment id and offset saved by close, or zeros when there is none or it is
// unreadable (then records are redelivered, and the server drops the duplicates).
func readCursor(dir string, log *zap.Logger) (uint64, int64) {
	b, err := os.ReadFile(filepath.Join(dir, cursorFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0
	}
	if err != nil || len(b) != 20 || crc32.Checksum(b[:16], crcTable) != binary.LittleEndian.Uint32(b[16:]) {
		log.Warn("spool cursor unreadable; redelivering from the start of the spool", zap.Error(err))
		return 0, 0
	}
	return binary.LittleEndian.Uint64(b), int64(binary.LittleEndian.Uint64(b[8:]))
}
