package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/factstream/factstream/client"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// printer writes enriched events: JSON lines (schemas' stable form), or one human line each, coloured
// on a terminal. It is safe for concurrent use.
type printer struct {
	mu       sync.Mutex
	w        *bufio.Writer
	json     bool
	color    bool
	showHost bool
	buf      []byte
}

func newPrinter(w io.Writer, json, color, showHost bool) *printer {
	return &printer{w: bufio.NewWriter(w), json: json, color: color, showHost: showHost}
}

// print writes events and flushes.
func (p *printer) print(events []schemas.Activity) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range events {
		if err := p.write(&events[i]); err != nil {
			return err
		}
	}
	return p.w.Flush()
}

// printBatch writes the events of a batch of client.Subscribe and flushes.
func (p *printer) printBatch(b client.Batch) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	for i := range b.Events {
		if err = p.write(&b.Events[i].Activity); err != nil {
			break
		}
	}
	if err = cmp.Or(err, p.w.Flush()); err != nil {
		return fmt.Errorf("writing events: %w", err)
	}
	return nil
}

// write writes one event's line; p.mu is held.
func (p *printer) write(a *schemas.Activity) error {
	p.buf = p.buf[:0]
	if p.json {
		p.buf = schemas.AppendActivityJSON(p.buf, a)
	} else {
		p.buf = appendHuman(p.buf, a, p.color, p.showHost)
	}
	p.buf = append(p.buf, '\n')
	_, err := p.w.Write(p.buf)
	return err
}

// ANSI colours of the human form.
const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiMag    = "\x1b[35m"
	ansiCyan   = "\x1b[36m"
)

func typeColor(t string) string {
	switch t {
	case "creation", "mkdir", "symlink", "link":
		return ansiGreen
	case "unlink", "rmdir":
		return ansiRed
	case "rename":
		return ansiYellow
	case "open", "content":
		return ansiCyan
	case "permission", "ownership", "xattr_set", "xattr_remove", "acl_set":
		return ansiMag
	case "mount", "umount":
		return ansiBlue
	}
	return ansiBold + ansiRed
}

// appendHuman appends one line: time, type, the path (and the host path when it differs), what
// changed, and the process.
//
//	13:04:05.123 rename      /srv/mon/b ← /srv/mon/a  mv[4242] uid=0 /usr/bin/mv
func appendHuman(b []byte, a *schemas.Activity, color, showHost bool) []byte {
	paint := func(c string, s string) {
		if color {
			b = append(b, c...)
			b = append(b, s...)
			b = append(b, ansiReset...)
		} else {
			b = append(b, s...)
		}
	}
	paint(ansiDim, time.Unix(0, a.Time).Local().Format("15:04:05.000"))
	b = append(b, ' ')
	if showHost {
		paint(ansiBlue, a.Host)
		b = append(b, ' ')
	}
	paint(typeColor(a.Type), fmt.Sprintf("%-10s", a.Type))
	b = append(b, ' ')
	if a.Type == schemas.TypeGap {
		b = fmt.Appendf(b, "dev %d: %s", a.Dev, a.Reason)
		if a.Lost > 0 {
			b = fmt.Appendf(b, " (%d lost)", a.Lost)
		}
		return b
	}
	b = appendPath(b, a.Path, a.HostPath, color)
	switch a.Type {
	case "rename":
		b = append(b, " ← "...)
		b = appendPath(b, a.OldPath, a.OldHostPath, color)
	case "permission":
		b = fmt.Appendf(b, " %04o → %04o", a.OldMode&0o7777, a.Mode&0o7777)
	case "ownership":
		b = fmt.Appendf(b, " %d:%d → %d:%d", a.OldUID, a.OldGID, a.UID, a.GID)
	case "creation", "mkdir":
		b = fmt.Appendf(b, " %04o", a.Mode&0o7777)
	case "symlink", "link":
		b = append(b, " → "...)
		b = appendText(b, a.Target)
	case "xattr_set", "xattr_remove":
		b = append(b, ' ')
		b = appendText(b, a.Xattr)
	case "acl_set":
		b = append(b, ' ')
		b = appendText(b, a.ACL)
	case "mount", "umount":
		b = append(b, ' ')
		b = appendText(b, a.FSType)
	case "content":
		b = appendContent(b, a)
	case schemas.TypeDrift:
		return appendDrift(b, a)
	}
	b = append(b, "  "...)
	pr := &a.Process
	proc := appendText(nil, pr.Comm)
	proc = fmt.Appendf(proc, "[%d]", pr.Pid)
	paint(ansiBold, string(proc))
	b = fmt.Appendf(b, " uid=%d", pr.UID)
	if pr.LoginUID != 0xffffffff && pr.LoginUID != pr.UID {
		b = fmt.Appendf(b, " login=%d", pr.LoginUID)
	}
	if len(pr.Exe) > 0 {
		b = append(b, ' ')
		b = appendText(b, pr.Exe)
	}
	if pr.ContainerID != "" {
		b = append(b, " container="...)
		b = append(b, pr.ContainerID[:min(12, len(pr.ContainerID))]...)
	}
	return b
}

// appendPath appends path, then the host path in brackets when it differs (an empty host path, a file
// that is not tracked, shows as "(untracked)").
func appendPath(b, path, hostPath []byte, color bool) []byte {
	if len(path) == 0 && len(hostPath) == 0 {
		return append(b, "(unknown)"...)
	}
	if len(path) == 0 {
		path = hostPath
	}
	b = appendText(b, path)
	if string(path) == string(hostPath) {
		return b
	}
	if color {
		b = append(b, ansiDim...)
	}
	if len(hostPath) == 0 {
		b = append(b, " (untracked)"...)
	} else {
		b = append(b, " (host "...)
		b = appendText(b, hostPath)
		b = append(b, ')')
	}
	if color {
		b = append(b, ansiReset...)
	}
	return b
}

// appendText appends bytes as they are when they are printable UTF-8 without spaces at the ends, and
// Go-quoted otherwise (\xff, \n), so a line always shows one event unambiguously.
func appendText(b, p []byte) []byte {
	if len(p) == 0 {
		return append(b, `""`...)
	}
	plain := utf8.Valid(p) && !strings.ContainsFunc(string(p), func(r rune) bool {
		return !unicode.IsPrint(r) || r == '"' || r == '\\'
	}) && p[0] != ' ' && p[len(p)-1] != ' '
	if plain {
		return append(b, p...)
	}
	return strconv.AppendQuote(b, string(p))
}

// follow prints what client.Subscribe delivers for opts until ctx ends: a resolver's commits, each in
// time order. Unreadable batches are logged and skipped, and so are the consumer's transient errors.
func follow(ctx context.Context, js jetstream.JetStream, opts client.Options, p *printer, log *zap.Logger) error {
	opts.OnError = func(err error) {
		if errors.Is(err, client.ErrUnreadable) {
			log.Warn("skipping an unreadable FILE_ACTIVITY batch", zap.Error(err))
			return
		}
		log.Debug("FILE_ACTIVITY consumer", zap.Error(err))
	}
	return client.Subscribe(ctx, js, opts, p.printBatch)
}

// appendDrift says what a scan found changed that no event explains, each value found after the one
// known, or the state that stands in for a hash it could not take. Nobody was seen making the change,
// so there is no process.
//
//	hash sha256:0101… ← sha256:abab…  size 4096 B ← 12 B  (found by a scan, no process seen)
//	size 209715200 B ← 12 B  too_large  (found by a scan, no process seen)
func appendDrift(b []byte, a *schemas.Activity) []byte {
	for _, c := range a.Changed {
		switch c {
		case schemas.DriftHash:
			b = fmt.Appendf(b, " hash %s ← %s ", a.Hash, a.OldHash)
		case schemas.DriftSize:
			b = fmt.Appendf(b, " size %d B ← %d B ", a.Size, a.OldSize)
		}
	}
	if a.Hash == "" && a.HashState != "" {
		b = fmt.Appendf(b, " %s ", a.HashState)
	}
	return append(b, " (found by a scan, no process seen)"...)
}

// appendContent says what a content event found: the hash (and the one before it), or the state that
// stands in for it, and the size.
//
//	sha256:9f86d0… ← sha256:2c26b4…  4 B
//	too_large  209715200 B
func appendContent(b []byte, a *schemas.Activity) []byte {
	b = append(b, ' ')
	if a.Hash == "" {
		b = append(b, a.HashState...)
	} else {
		b = append(b, a.Hash...)
		if a.OldHash != "" && a.OldHash != a.Hash {
			b = append(b, " ← "...)
			b = append(b, a.OldHash...)
		} else if a.OldHash == a.Hash {
			b = append(b, " (unchanged)"...)
		}
	}
	return fmt.Appendf(b, "  %d B", a.Size)
}
