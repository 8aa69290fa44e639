package schemas

import (
	"encoding/base64"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The JSON form of an Activity: one object per line, keys in a fixed order, the fields of a type always
// present (README.md lists them). Paths and other bytes are JSON strings; one that is not valid UTF-8 is
// written with U+FFFD for each invalid byte and followed by the same key suffixed _b64 holding the exact
// bytes in standard base64. Control characters, newlines included, are escaped, so a line is one event.

// jsonTime is RFC 3339 with nanoseconds, always nine digits, in UTC.
const jsonTime = "2006-01-02T15:04:05.000000000Z07:00"

// MarshalJSON returns the JSON form of a, without a trailing newline.
func (a *Activity) MarshalJSON() ([]byte, error) {
	return AppendActivityJSON(nil, a), nil
}

// AppendActivityJSON appends the JSON form of a to dst, without a trailing newline.
func AppendActivityJSON(dst []byte, a *Activity) []byte {
	w := jsonWriter{b: append(dst, '{')}
	w.key("time")
	w.b = append(w.b, '"')
	w.b = time.Unix(0, a.Time).UTC().AppendFormat(w.b, jsonTime)
	w.b = append(w.b, '"')
	w.str("host", a.Host)
	w.str("type", a.Type)
	w.bytes("path", a.Path)
	w.bytes("host_path", a.HostPath)
	w.typeFields(a)
	w.key("inode")
	w.b = append(w.b, '{')
	w.uint("dev", a.Dev)
	w.uint("ino", a.Ino)
	w.b = append(w.b, '}')
	if a.Type == TypeGap {
		w.str("reason", a.Reason)
		w.uint("lost", a.Lost)
		return append(w.b, '}')
	}
	w.str("monitored", monitoredName(a.Monitored))
	w.str("probe", probeName(a.Probe))
	w.key("process")
	w.process(&a.Process)
	return append(w.b, '}')
}

// typeFields writes the fields that only some types carry.
func (w *jsonWriter) typeFields(a *Activity) {
	switch a.Type {
	case "rename":
		w.key("old")
		w.b = append(w.b, '{')
		w.bytes("path", a.OldPath)
		w.bytes("host_path", a.OldHostPath)
		w.b = append(w.b, '}')
		w.mode("mode", a.Mode)
	case "creation", "mkdir", "symlink":
		w.mode("mode", a.Mode)
		w.uint("uid", uint64(a.UID))
		w.uint("gid", uint64(a.GID))
	case "unlink", "link":
		w.mode("mode", a.Mode)
	case "permission":
		w.mode("mode", a.Mode)
		w.mode("old_mode", a.OldMode)
	case "ownership":
		w.uint("uid", uint64(a.UID))
		w.uint("gid", uint64(a.GID))
		w.uint("old_uid", uint64(a.OldUID))
		w.uint("old_gid", uint64(a.OldGID))
	case "content":
		w.str("hash", a.Hash)
		w.uint("size", a.Size)
		w.str("old_hash", a.OldHash)
		w.str("hash_state", a.HashState)
	case TypeDrift:
		w.strs("changed", a.Changed)
		w.str("hash", a.Hash)
		w.str("old_hash", a.OldHash)
		w.uint("size", a.Size)
		w.uint("old_size", a.OldSize)
		w.str("hash_state", a.HashState)
	}
	switch a.Type {
	case "symlink", "link":
		w.bytes("target", a.Target)
	case "xattr_set", "xattr_remove":
		w.bytes("xattr", a.Xattr)
	case "acl_set":
		w.bytes("acl", a.ACL)
	case "mount", "umount":
		w.bytes("fstype", a.FSType)
	}
}

func monitoredName(m Monitored) string {
	switch m {
	case MonitoredByInode:
		return "inode"
	case MonitoredByParent:
		return "parent"
	case MonitoredByPath:
		return "path"
	}
	return "none"
}

func probeName(p Probe) string {
	switch p {
	case ProbeLSM:
		return "lsm"
	case ProbeTracepoint:
		return "tracepoint"
	case ProbeScan:
		return "scan"
	}
	return "unknown"
}

type jsonWriter struct {
	b []byte
}

// key writes a key, after a comma unless it opens an object.
func (w *jsonWriter) key(k string) {
	if len(w.b) > 0 && w.b[len(w.b)-1] != '{' {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jsonWriter) uint(k string, v uint64) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

// mode writes an st_mode as an octal string with a leading zero, e.g. "0100644".
func (w *jsonWriter) mode(k string, v uint32) {
	w.key(k)
	w.b = append(w.b, '"', '0')
	if v != 0 {
		w.b = strconv.AppendUint(w.b, uint64(v), 8)
	}
	w.b = append(w.b, '"')
}

func (w *jsonWriter) str(k, v string) {
	w.key(k)
	w.b = appendJSONString(w.b, v)
}

// strs writes an array of strings.
func (w *jsonWriter) strs(k string, v []string) {
	w.key(k)
	w.b = appendArray(w.b, v, appendJSONString[string])
}

// appendArray appends v as a JSON array, each element written by elem.
func appendArray[T any](b []byte, v []T, elem func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, e := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, e)
	}
	return append(b, ']')
}

// bytes writes k as a string and, when p is not valid UTF-8, k_b64 with the exact bytes.
func (w *jsonWriter) bytes(k string, p []byte) {
	w.key(k)
	w.b = appendJSONString(w.b, p)
	if !utf8.Valid(p) {
		w.key(k + "_b64")
		w.b = appendBase64(w.b, p)
	}
}

func appendBase64(b, p []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, '"')
}

func (w *jsonWriter) process(p *ActivityProcess) {
	w.b = append(w.b, '{')
	w.uint("pid", uint64(p.Pid))
	w.bytes("comm", p.Comm)
	w.bytes("exe", p.Exe)
	w.args(p.Args)
	w.uint("uid", uint64(p.UID))
	w.uint("gid", uint64(p.GID))
	w.uint("loginuid", uint64(p.LoginUID))
	w.str("container_id", p.ContainerID)
	w.key("lineage")
	w.b = append(w.b, '[')
	for i := range p.Lineage {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, '{')
		w.uint("pid", uint64(p.Lineage[i].Pid))
		w.bytes("comm", p.Lineage[i].Comm)
		w.bytes("exe", p.Lineage[i].Exe)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']', '}')
}

// args writes the arguments as an array of strings and, when one of them is not valid UTF-8, args_b64
// with every argument's exact bytes.
func (w *jsonWriter) args(args [][]byte) {
	w.key("args")
	w.b = appendArray(w.b, args, appendJSONString[[]byte])
	if !slices.ContainsFunc(args, func(a []byte) bool { return !utf8.Valid(a) }) {
		return
	}
	w.key("args_b64")
	w.b = appendArray(w.b, args, appendBase64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string: quotes, backslashes and control characters escaped (also
// U+2028 and U+2029, which some JavaScript parsers take for line ends), each invalid UTF-8 byte written
// as U+FFFD.
func appendJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = appendASCII(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, "\ufffd"...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func appendASCII(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	if c < 0x20 || c == 0x7f {
		return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(b, c)
}
