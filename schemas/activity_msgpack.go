package schemas

import (
	"fmt"
	"math"
	"strconv"
)

// The msgpack form of enriched events mirrors the raw one: an envelope array, events as arrays with a
// fixed field order, trailing zero fields left off, bytes as bin. README.md has the table.

const activityBatchFields = 4

// Field positions of an encoded Activity; the order is the wire format.
const (
	afTime = iota
	afPath
	afHostPath
	afOldPath
	afOldHostPath
	afMode
	afOldMode
	afUID
	afGID
	afOldUID
	afOldGID
	afTarget
	afXattr
	afACL
	afFSType
	afDev
	afIno
	afMonitored
	afProbe
	afProcess
	afReason
	afLost
	afHash
	afSize
	afOldHash
	afHashState
	afOldSize
	afChanged
	numActivityFields
)

var activityFieldNames = [numActivityFields]string{
	"time", "path", "host_path", "old_path", "old_host_path", "mode", "old_mode", "uid", "gid", "old_uid",
	"old_gid", "target", "xattr", "acl", "fstype", "dev", "ino", "monitored", "probe", "process", "reason",
	"lost", "hash", "size", "old_hash", "hash_state", "old_size", "changed",
}

// Field positions of an encoded ActivityProcess.
const (
	pfPid = iota
	pfComm
	pfExe
	pfArgs
	pfUID
	pfGID
	pfLoginUID
	pfContainerID
	pfLineage
	numProcessFields
)

// EncodeActivityBatch appends the encoding of b to dst. Events keep their own Host and Type out of the
// encoding: the envelope's apply to all of them.
func EncodeActivityBatch(dst []byte, b *ActivityBatch) []byte {
	dst = AppendActivityEnvelope(dst, b.Host, b.Type, len(b.Events))
	for i := range b.Events {
		dst = AppendActivity(dst, &b.Events[i])
	}
	return dst
}

// AppendActivityEnvelope appends the envelope of a batch of n events of host and typ; the n events,
// each appended by AppendActivity, must follow. A resolver uses it to build a message from events
// encoded as they were produced.
func AppendActivityEnvelope(dst []byte, host, typ string, n int) []byte {
	dst = appendArrayLen(dst, activityBatchFields)
	dst = appendUint(dst, ActivityVersion)
	dst = appendStr(dst, host)
	dst = appendStr(dst, typ)
	return appendArrayLen(dst, n)
}

// AppendActivity appends the encoding of one event (without its Host and Type).
func AppendActivity(dst []byte, a *Activity) []byte {
	n := numActivityFields
	switch {
	case a.Hash == "" && a.Size == 0 && a.OldHash == "" && a.HashState == "" && a.OldSize == 0 && len(a.Changed) == 0:
		n = afHash // not a content or drift event: as it was before content's fields
	case a.OldSize == 0 && len(a.Changed) == 0:
		n = afOldSize // not a drift event: as it was before drift's fields
	}
	for n > 1 && activityFieldZero(a, n-1) {
		n--
	}
	dst = appendArrayLen(dst, n)
	for f := range n {
		dst = appendActivityField(dst, a, f)
	}
	return dst
}

func activityFieldZero(a *Activity, f int) bool {
	switch f {
	case afReason:
		return a.Reason == ""
	case afLost:
		return a.Lost == 0
	case afProcess:
		return processZero(&a.Process)
	case afProbe:
		return a.Probe == 0
	case afMonitored:
		return a.Monitored == 0
	}
	return false
}

func processZero(p *ActivityProcess) bool {
	return p.Pid == 0 && len(p.Comm) == 0 && len(p.Exe) == 0 && len(p.Args) == 0 && p.UID == 0 && p.GID == 0 &&
		p.LoginUID == 0 && p.ContainerID == "" && len(p.Lineage) == 0
}

func appendActivityField(b []byte, a *Activity, f int) []byte {
	switch f {
	case afTime:
		return appendInt(b, a.Time)
	case afPath:
		return appendBin(b, a.Path)
	case afHostPath:
		return appendBin(b, a.HostPath)
	case afOldPath:
		return appendBin(b, a.OldPath)
	case afOldHostPath:
		return appendBin(b, a.OldHostPath)
	case afMode:
		return appendUint(b, uint64(a.Mode))
	case afOldMode:
		return appendUint(b, uint64(a.OldMode))
	case afUID:
		return appendUint(b, uint64(a.UID))
	case afGID:
		return appendUint(b, uint64(a.GID))
	case afOldUID:
		return appendUint(b, uint64(a.OldUID))
	case afOldGID:
		return appendUint(b, uint64(a.OldGID))
	case afTarget:
		return appendBin(b, a.Target)
	case afXattr:
		return appendBin(b, a.Xattr)
	case afACL:
		return appendBin(b, a.ACL)
	case afFSType:
		return appendBin(b, a.FSType)
	}
	return appendActivityTail(b, a, f)
}

// appendActivityTail appends the fields from dev on.
func appendActivityTail(b []byte, a *Activity, f int) []byte {
	switch f {
	case afDev:
		return appendUint(b, a.Dev)
	case afIno:
		return appendUint(b, a.Ino)
	case afMonitored:
		return appendUint(b, uint64(a.Monitored))
	case afProbe:
		return appendUint(b, uint64(a.Probe))
	case afProcess:
		if processZero(&a.Process) {
			return append(b, mpNil)
		}
		return appendProcess(b, &a.Process)
	case afReason:
		return appendStr(b, a.Reason)
	case afLost:
		return appendUint(b, a.Lost)
	case afHash:
		return appendStr(b, a.Hash)
	case afSize:
		return appendUint(b, a.Size)
	case afOldHash:
		return appendStr(b, a.OldHash)
	case afHashState:
		return appendStr(b, a.HashState)
	case afOldSize:
		return appendUint(b, a.OldSize)
	}
	b = appendArrayLen(b, len(a.Changed))
	for _, c := range a.Changed {
		b = appendStr(b, c)
	}
	return b
}

func appendProcess(b []byte, p *ActivityProcess) []byte {
	n := numProcessFields
	for n > 1 && processFieldZero(p, n-1) {
		n--
	}
	b = appendArrayLen(b, n)
	for f := range n {
		switch f {
		case pfPid:
			b = appendUint(b, uint64(p.Pid))
		case pfComm:
			b = appendBin(b, p.Comm)
		case pfExe:
			b = appendBin(b, p.Exe)
		case pfArgs:
			b = appendArrayLen(b, len(p.Args))
			for _, arg := range p.Args {
				b = appendBinAlways(b, arg)
			}
		case pfUID:
			b = appendUint(b, uint64(p.UID))
		case pfGID:
			b = appendUint(b, uint64(p.GID))
		case pfLoginUID:
			b = appendUint(b, uint64(p.LoginUID))
		case pfContainerID:
			b = appendStr(b, p.ContainerID)
		case pfLineage:
			b = appendArrayLen(b, len(p.Lineage))
			for i := range p.Lineage {
				l := &p.Lineage[i]
				b = appendArrayLen(b, 3)
				b = appendUint(b, uint64(l.Pid))
				b = appendBin(b, l.Comm)
				b = appendBin(b, l.Exe)
			}
		}
	}
	return b
}

func processFieldZero(p *ActivityProcess, f int) bool {
	switch f {
	case pfLineage:
		return len(p.Lineage) == 0
	case pfContainerID:
		return p.ContainerID == ""
	}
	return false
}

// appendBinAlways writes p as bin, also when empty: an empty argument is an argument, not a missing one.
func appendBinAlways(b, p []byte) []byte {
	if len(p) == 0 {
		return append(b, mpBin8, 0)
	}
	return appendBin(b, p)
}

// DecodeActivityBatch decodes data into b, reusing b's memory. It never panics; on error the error is a
// *DecodeError wrapping ErrUnknownVersion or ErrMalformed.
func DecodeActivityBatch(data []byte, b *ActivityBatch) error {
	d := decoder{r: reader{p: data}, event: -1}
	if cap(b.arena) < len(data) {
		b.arena = make([]byte, 0, len(data))
	}
	d.arena = b.arena[:0]
	err := d.activityBatch(b)
	b.arena = d.arena
	return err
}

func (d *decoder) activityBatch(b *ActivityBatch) error {
	n, ok := d.r.readArrayLen()
	if !ok {
		return d.err("", ErrMalformed)
	}
	if n == 0 {
		d.r.detail = "empty envelope"
		return d.err("", ErrMalformed)
	}
	v, ok := d.r.readUint(math.MaxUint64)
	if !ok {
		return d.err("version", ErrMalformed)
	}
	if v != ActivityVersion {
		d.r.detail = "version " + strconv.FormatUint(v, 10) + ", want " + strconv.Itoa(ActivityVersion)
		return d.err("version", ErrUnknownVersion)
	}
	if n != activityBatchFields {
		d.r.detail = fmt.Sprintf("envelope has %d fields, want %d", n, activityBatchFields)
		return d.err("", ErrMalformed)
	}
	if !d.str(&b.Host) {
		return d.err("host", ErrMalformed)
	}
	if !d.str(&b.Type) {
		return d.err("type", ErrMalformed)
	}
	if n, ok = d.r.readArrayLen(); !ok {
		return d.err("events", ErrMalformed)
	}
	if cap(b.Events) < n {
		b.Events = make([]Activity, n)
	}
	b.Events = b.Events[:n]
	for i := range b.Events {
		d.event = i
		a := &b.Events[i]
		*a = Activity{Host: b.Host, Type: b.Type}
		if err := d.activity(a); err != nil {
			b.Events = b.Events[:i]
			return err
		}
	}
	d.event = -1
	if d.r.off != len(d.r.p) {
		d.r.start = d.r.off
		d.r.detail = strconv.Itoa(len(d.r.p)-d.r.off) + " trailing bytes"
		return d.err("", ErrMalformed)
	}
	return nil
}

func (d *decoder) activity(a *Activity) error {
	n, ok := d.r.readArrayLen()
	if !ok {
		return d.err("", ErrMalformed)
	}
	if n == 0 || n > numActivityFields {
		d.r.detail = fmt.Sprintf("%d fields, want 1 to %d", n, numActivityFields)
		return d.err("", ErrMalformed)
	}
	for f := range n {
		if !d.activityField(a, f) {
			return d.err(activityFieldNames[f], ErrMalformed)
		}
	}
	return nil
}

func (d *decoder) activityField(a *Activity, f int) bool {
	r := &d.r
	var ok bool
	switch f {
	case afTime:
		a.Time, ok = r.readSigned(math.MinInt64, math.MaxInt64)
	case afPath:
		ok = d.bytes(&a.Path)
	case afHostPath:
		ok = d.bytes(&a.HostPath)
	case afOldPath:
		ok = d.bytes(&a.OldPath)
	case afOldHostPath:
		ok = d.bytes(&a.OldHostPath)
	case afMode:
		ok = readUint32(r, &a.Mode)
	case afOldMode:
		ok = readUint32(r, &a.OldMode)
	case afUID:
		ok = readUint32(r, &a.UID)
	case afGID:
		ok = readUint32(r, &a.GID)
	case afOldUID:
		ok = readUint32(r, &a.OldUID)
	case afOldGID:
		ok = readUint32(r, &a.OldGID)
	case afTarget:
		ok = d.bytes(&a.Target)
	case afXattr:
		ok = d.bytes(&a.Xattr)
	case afACL:
		ok = d.bytes(&a.ACL)
	case afFSType:
		ok = d.bytes(&a.FSType)
	default:
		ok = d.activityTail(a, f)
	}
	return ok
}

func (d *decoder) activityTail(a *Activity, f int) bool {
	r := &d.r
	var ok bool
	switch f {
	case afDev:
		a.Dev, ok = r.readUint(math.MaxUint64)
	case afIno:
		a.Ino, ok = r.readUint(math.MaxUint64)
	case afMonitored:
		ok = readUint8(r, (*uint8)(&a.Monitored), uint8(MonitoredByInode))
	case afProbe:
		ok = readUint8(r, (*uint8)(&a.Probe), uint8(ProbeScan))
	case afProcess:
		if r.isNil() {
			return true
		}
		ok = d.process(&a.Process)
	case afReason:
		ok = d.str(&a.Reason)
	case afLost:
		a.Lost, ok = r.readUint(math.MaxUint64)
	case afHash:
		ok = d.str(&a.Hash)
	case afSize:
		a.Size, ok = r.readUint(math.MaxUint64)
	case afOldHash:
		ok = d.str(&a.OldHash)
	case afHashState:
		ok = d.str(&a.HashState)
	case afOldSize:
		a.OldSize, ok = r.readUint(math.MaxUint64)
	case afChanged:
		ok = d.changed(a)
	}
	return ok
}

// maxChanged bounds a drift's list of what changed: more names than fields is not an event.
const maxChanged = numActivityFields

func (d *decoder) changed(a *Activity) bool {
	n, ok := d.r.readArrayLen()
	if !ok || n == 0 {
		return ok
	}
	if n > maxChanged {
		return d.r.fail("changed has %d names, want at most %d", n, maxChanged)
	}
	a.Changed = make([]string, n)
	for i := range a.Changed {
		if !d.str(&a.Changed[i]) {
			return false
		}
	}
	return true
}

func (d *decoder) process(p *ActivityProcess) bool {
	n, ok := d.r.readArrayLen()
	if !ok {
		return false
	}
	if n == 0 || n > numProcessFields {
		return d.r.fail("process has %d fields, want 1 to %d", n, numProcessFields)
	}
	for f := 0; f < n && ok; f++ {
		switch f {
		case pfPid:
			ok = readUint32(&d.r, &p.Pid)
		case pfComm:
			ok = d.bytes(&p.Comm)
		case pfExe:
			ok = d.bytes(&p.Exe)
		case pfArgs:
			ok = d.args(p)
		case pfUID:
			ok = readUint32(&d.r, &p.UID)
		case pfGID:
			ok = readUint32(&d.r, &p.GID)
		case pfLoginUID:
			ok = readUint32(&d.r, &p.LoginUID)
		case pfContainerID:
			ok = d.str(&p.ContainerID)
		case pfLineage:
			ok = d.lineage(p)
		}
	}
	return ok
}

func (d *decoder) args(p *ActivityProcess) bool {
	if d.r.isNil() {
		return true
	}
	n, ok := d.r.readArrayLen()
	if !ok || n == 0 {
		return ok
	}
	p.Args = make([][]byte, n)
	for i := range p.Args {
		if !d.bytes(&p.Args[i]) {
			return false
		}
		if p.Args[i] == nil {
			p.Args[i] = []byte{}
		}
	}
	return true
}

func (d *decoder) lineage(p *ActivityProcess) bool {
	if d.r.isNil() {
		return true
	}
	n, ok := d.r.readArrayLen()
	if !ok || n == 0 {
		return ok
	}
	p.Lineage = make([]Ancestor, n)
	for i := range p.Lineage {
		l := &p.Lineage[i]
		m, ok := d.r.readArrayLen()
		if !ok {
			return false
		}
		if m != 3 {
			return d.r.fail("ancestor has %d fields, want 3", m)
		}
		if !readUint32(&d.r, &l.Pid) || !d.bytes(&l.Comm) || !d.bytes(&l.Exe) {
			return false
		}
	}
	return true
}
