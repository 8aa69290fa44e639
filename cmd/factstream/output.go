package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// activityTypes are the FILE_ACTIVITY types a --type filter accepts: every file kind, and gap.
var activityTypes = func() []string {
	var ts []string
	for k := schemas.Kind(1); k.Valid(); k++ {
		if k.File() {
			ts = append(ts, k.String())
		}
	}
	return append(ts, schemas.TypeGap)
}()

// filter selects enriched events: by host and type through the consumer's subjects, by path glob here.
// Empty lists select everything.
type filter struct {
	hosts []string
	types []string
	paths []string // doublestar globs on path, host_path and, for a rename, the old ones
}

// validate checks the filter's values and says which flag is wrong.
func (f filter) validate() error {
	var errs []error
	for _, h := range f.hosts {
		if h == "" || strings.ContainsAny(h, ".*> \t\r\n") {
			errs = append(errs, fmt.Errorf("--host %q: not a host name (no '.', '*', '>' or white space)", h))
		}
	}
	for _, t := range f.types {
		if !slices.Contains(activityTypes, t) {
			errs = append(errs, fmt.Errorf("--type %q: want one of %s", t, strings.Join(activityTypes, ", ")))
		}
	}
	for _, p := range f.paths {
		if !doublestar.ValidatePattern(p) || !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("--path %q: not an absolute glob like /etc/** or /srv/app/*.conf", p))
		}
	}
	return errors.Join(errs...)
}

// subjects are the FACT_ACTIVITY subjects the consumer reads.
func (f filter) subjects() []string {
	hosts, types := f.hosts, f.types
	if len(hosts) == 0 {
		hosts = []string{"*"}
	}
	if len(types) == 0 {
		types = []string{"*"}
	}
	var subs []string
	for _, h := range hosts {
		for _, t := range types {
			subs = append(subs, schemas.ActivitySubject(h, t))
		}
	}
	slices.Sort(subs)
	return slices.Compact(subs)
}

// match reports whether a passes the path globs.
func (f filter) match(a *schemas.Activity) bool {
	if len(f.paths) == 0 {
		return true
	}
	for _, p := range [][]byte{a.Path, a.HostPath, a.OldPath, a.OldHostPath} {
		if len(p) == 0 {
			continue
		}
		for _, g := range f.paths {
			if ok, _ := doublestar.Match(g, string(p)); ok {
				return true
			}
		}
	}
	return false
}

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

// print writes the events of one batch and flushes.
func (p *printer) print(events []schemas.Activity, f filter) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range events {
		a := &events[i]
		if !f.match(a) {
			continue
		}
		p.buf = p.buf[:0]
		if p.json {
			p.buf = schemas.AppendActivityJSON(p.buf, a)
		} else {
			p.buf = appendHuman(p.buf, a, p.color, p.showHost)
		}
		p.buf = append(p.buf, '\n')
		if _, err := p.w.Write(p.buf); err != nil {
			return err
		}
	}
	return p.w.Flush()
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
	case "open":
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

// flushAfter is how long follow holds events waiting for the checkpoint that ends their commit.
const flushAfter = 200 * time.Millisecond

// follow reads FACT_ACTIVITY with an ordered consumer from where cfg says, printing what passes f, until
// ctx ends. live is called once the consumer exists, so that what is published afterwards is printed.
//
// A resolver commits events in batches per host and type, each commit ended by a checkpoint message; follow
// holds a commit's events until its checkpoint (or flushAfter) and prints them in time order, so that
// `mkdir x; touch x/f` shows the mkdir first although the two are in different messages.
func follow(ctx context.Context, js jetstream.JetStream, f filter, cfg jetstream.OrderedConsumerConfig, p *printer, log *zap.Logger, live func()) error {
	cfg.FilterSubjects = append(f.subjects(), schemas.CheckpointPrefix+".>")
	c, err := js.OrderedConsumer(ctx, schemas.ActivityStream, cfg)
	if err != nil {
		return fmt.Errorf("reading %s: %w", schemas.ActivityStream, err)
	}
	msgs := make(chan jetstream.Msg, 256)
	cc, err := c.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Debug("FILE_ACTIVITY consumer", zap.Error(err))
	}))
	if err != nil {
		return fmt.Errorf("reading %s: %w", schemas.ActivityStream, err)
	}
	defer cc.Stop()
	if live != nil {
		live()
	}
	var (
		pending []schemas.Activity
		since   time.Time
	)
	flush := func() error {
		slices.SortStableFunc(pending, func(a, b schemas.Activity) int { return cmp.Compare(a.Time, b.Time) })
		err := p.print(pending, f)
		clear(pending)
		pending = pending[:0]
		if err != nil {
			return fmt.Errorf("writing events: %w", err)
		}
		return nil
	}
	tick := time.NewTicker(flushAfter / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if len(pending) > 0 && time.Since(since) >= flushAfter {
				if err := flush(); err != nil {
					return err
				}
			}
		case m := <-msgs:
			if strings.HasPrefix(m.Subject(), schemas.CheckpointPrefix+".") {
				if err := flush(); err != nil {
					return err
				}
				continue
			}
			var batch schemas.ActivityBatch // the events point into it: a new one per message
			if err := schemas.DecodeActivityBatch(m.Data(), &batch); err != nil {
				log.Warn("skipping an unreadable FILE_ACTIVITY batch", zap.String("subject", m.Subject()), zap.Error(err))
				continue
			}
			if len(pending) == 0 {
				since = time.Now()
			}
			pending = append(pending, batch.Events...)
			if len(pending) >= 16384 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
}
