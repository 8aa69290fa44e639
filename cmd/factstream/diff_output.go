package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/factstream/factstream/pipeline/changeset"
)

// How `factstream diff` prints a change set: a line of text per change, or a JSON object per line.

// writeChanges writes r's gaps, then its changes.
func writeChanges(w io.Writer, r *changeset.Report, asJSON bool) error {
	bw := bufio.NewWriter(w)
	if asJSON {
		for _, g := range r.Gaps {
			bw.Write(gapJSON(g))
			bw.WriteByte('\n')
		}
		for i := range r.Changes {
			bw.Write(changeJSON(&r.Changes[i], r.Incomplete()))
			bw.WriteByte('\n')
		}
		return bw.Flush()
	}
	if r.Incomplete() {
		g := r.Gaps[0]
		fmt.Fprintf(bw, "# incomplete: %d gap(s) in the period, the first at %s on filesystem %d (%s): changes may be missing\n",
			len(r.Gaps), time.Unix(0, g.Time).UTC().Format(time.RFC3339Nano), g.Dev, g.Reason)
	}
	for i := range r.Changes {
		bw.WriteString(changeText(&r.Changes[i]))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// changeText is a change as one line for a person.
func changeText(c *changeset.Change) string {
	p := pathText(c.Path)
	switch c.Kind {
	case changeset.Added:
		if h := hashText(c.Hash, c.HashState); h != "(none)" {
			return "added " + p + " (" + h + ")"
		}
		return "added " + p
	case changeset.Removed:
		return "removed " + p
	case changeset.Renamed:
		return "renamed " + pathText(c.OldPath) + " → " + p
	case changeset.Content:
		return "content " + p + " " + hashText(c.OldHash, "") + " → " + hashText(c.Hash, c.HashState)
	case changeset.Mode:
		return "mode " + p + " " + permText(c.OldMode) + " → " + permText(c.Mode)
	case changeset.Owner:
		return "owner " + p + " " + ownerText(c.OldUID, c.OldGID) + " → " + ownerText(c.UID, c.GID)
	case changeset.Drift:
		s := "drift " + p
		if c.Hash != "" || c.OldHash != "" {
			s += " hash " + hashText(c.OldHash, "") + " → " + hashText(c.Hash, "")
		}
		if c.Mode != 0 || c.OldMode != 0 {
			s += " mode " + permText(c.OldMode) + " → " + permText(c.Mode)
		}
		if c.UID != c.OldUID || c.GID != c.OldGID {
			s += " owner " + ownerText(c.OldUID, c.OldGID) + " → " + ownerText(c.UID, c.GID)
		}
		return s + " size " + strconv.FormatUint(c.Size, 10)
	}
	return c.Kind + " " + p + " " + hashText(c.Hash, c.HashState) // written
}

// pathText is p as is when it is printable UTF-8 without spaces, else quoted with Go's escapes.
func pathText(p []byte) string {
	s := string(p)
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}

func hashText(h, state string) string {
	switch {
	case h != "":
		return h
	case state != "":
		return "(" + state + ")"
	}
	return "(none)"
}

func permText(m uint32) string { return fmt.Sprintf("%04o", m&0o7777) }

func ownerText(uid, gid uint32) string { return fmt.Sprintf("%d:%d", uid, gid) }

// jsonLine writes a JSON object's keys in the order given.
type jsonLine struct{ b []byte }

func (l *jsonLine) add(k string, v any) {
	if len(l.b) == 0 {
		l.b = append(l.b, '{')
	} else {
		l.b = append(l.b, ',')
	}
	l.b = strconv.AppendQuote(l.b, k)
	l.b = append(l.b, ':')
	v2, _ := json.Marshal(v) // strings, numbers, booleans and maps of them always marshal
	l.b = append(l.b, v2...)
}

// path adds a path as the events do: text with U+FFFD for invalid bytes, then k_b64 with the bytes.
func (l *jsonLine) path(k string, p []byte) {
	l.add(k, validText(p))
	if !utf8.Valid(p) {
		l.add(k+"_b64", p)
	}
}

func (l *jsonLine) mode(k string, m uint32) {
	if m == 0 {
		l.add(k, "0")
		return
	}
	l.add(k, "0"+strconv.FormatUint(uint64(m), 8))
}

func (l *jsonLine) hashes(c *changeset.Change) {
	l.add("hash", c.Hash)
	l.add("old_hash", c.OldHash)
}

func (l *jsonLine) modes(c *changeset.Change) {
	l.mode("mode", c.Mode)
	l.mode("old_mode", c.OldMode)
}

func (l *jsonLine) owners(c *changeset.Change) {
	for _, kv := range []struct {
		k string
		v uint32
	}{{"uid", c.UID}, {"gid", c.GID}, {"old_uid", c.OldUID}, {"old_gid", c.OldGID}} {
		l.add(kv.k, kv.v)
	}
}

func (l *jsonLine) done() []byte { return append(l.b, '}') }

// changeJSON is a change as one JSON object; its keys depend only on its kind (schemas/README.md).
func changeJSON(c *changeset.Change, incomplete bool) []byte {
	var l jsonLine
	l.add("change", c.Kind)
	l.path("path", c.Path)
	switch c.Kind {
	case changeset.Added:
		l.add("hash", c.Hash)
		l.add("hash_state", c.HashState)
		l.mode("mode", c.Mode)
		l.add("uid", c.UID)
		l.add("gid", c.GID)
	case changeset.Renamed:
		l.path("old_path", c.OldPath)
	case changeset.Content:
		l.hashes(c)
		l.add("hash_state", c.HashState)
	case changeset.Mode:
		l.modes(c)
	case changeset.Owner:
		l.owners(c)
	case changeset.Drift:
		l.hashes(c)
		l.modes(c)
		l.owners(c)
		l.add("size", c.Size)
	case changeset.Written:
		l.add("hash", c.Hash)
	}
	l.add("inode", map[string]uint64{"dev": c.Dev, "ino": c.Ino})
	if incomplete {
		l.add("incomplete", true)
	}
	return l.done()
}

// gapJSON is a gap of the period as one JSON object.
func gapJSON(g changeset.Gap) []byte {
	var l jsonLine
	l.add("change", "gap")
	l.add("time", time.Unix(0, g.Time).UTC().Format(time.RFC3339Nano))
	l.add("inode", map[string]uint64{"dev": g.Dev, "ino": 0})
	l.add("reason", g.Reason)
	l.add("lost", g.Lost)
	return l.done()
}
