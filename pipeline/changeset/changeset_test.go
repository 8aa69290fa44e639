package changeset

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/factstream/factstream/schemas"
)

const (
	regular = 0o100000
	dir     = 0o040000
)

// ev builds an event of type typ about inode ino at host path p.
func ev(typ string, ino uint64, p string, set ...func(*schemas.Activity)) schemas.Activity {
	a := schemas.Activity{Type: typ, Dev: 1, Ino: ino, HostPath: []byte(p), Path: []byte(p)}
	for _, s := range set {
		s(&a)
	}
	return a
}

func mode(m uint32) func(*schemas.Activity) { return func(a *schemas.Activity) { a.Mode = m } }
func oldMode(m uint32) func(*schemas.Activity) {
	return func(a *schemas.Activity) { a.OldMode = m }
}
func from(p string) func(*schemas.Activity) {
	return func(a *schemas.Activity) { a.OldHostPath = []byte(p) }
}
func hash(old, now string) func(*schemas.Activity) {
	return func(a *schemas.Activity) { a.OldHash, a.Hash, a.HashState = old, now, "ok" }
}
func owners(oldUID, oldGID, uid, gid uint32) func(*schemas.Activity) {
	return func(a *schemas.Activity) { a.OldUID, a.OldGID, a.UID, a.GID = oldUID, oldGID, uid, gid }
}

// line is a Change as one comparable line: kind, paths, then every value field.
func line(c Change) string {
	return fmt.Sprintf("%s %s<-%s ino=%d hash=%s<-%s state=%s mode=%o<-%o owner=%d:%d<-%d:%d size=%d", c.Kind, c.Path,
		c.OldPath, c.Ino, c.Hash, c.OldHash, c.HashState, c.Mode, c.OldMode, c.UID, c.GID, c.OldUID, c.OldGID, c.Size)
}

func lines(cs []Change) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, line(c))
	}
	return out
}

func TestCompute(t *testing.T) {
	cases := []struct {
		name   string
		all    bool
		match  string // a prefix Options.Match accepts
		events []schemas.Activity
		want   []Change
		gaps   int
	}{
		{name: "created then written is added with its last hash", events: []schemas.Activity{
			ev("creation", 5, "/m/a", mode(regular|0o644), owners(0, 0, 7, 8)),
			ev("content", 5, "/m/a", hash("", "sha256:1")),
			ev("content", 5, "/m/a", hash("sha256:1", "sha256:2")),
		}, want: []Change{{Kind: Added, Path: []byte("/m/a"), Ino: 5, Hash: "sha256:2", Mode: regular | 0o644, UID: 7, GID: 8}}},
		{name: "created, renamed, renamed into a new directory: added at the final path", events: []schemas.Activity{
			ev("creation", 5, "/m/a", mode(regular|0o600)),
			ev("rename", 5, "/m/b", from("/m/a"), mode(regular|0o600)),
			ev("mkdir", 6, "/m/d", mode(dir|0o755)),
			ev("rename", 5, "/m/d/c", from("/m/b"), mode(regular|0o600)),
		}, want: []Change{
			{Kind: Added, Path: []byte("/m/d"), Ino: 6, Mode: dir | 0o755},
			{Kind: Added, Path: []byte("/m/d/c"), Ino: 5, Mode: regular | 0o600},
		}},
		{name: "created and removed does not appear", events: []schemas.Activity{
			ev("creation", 5, "/m/a"), ev("content", 5, "/m/a", hash("", "sha256:1")), ev("unlink", 5, "/m/a"),
			ev("content", 5, "", hash("sha256:1", "sha256:2")), // a late hash of the unlinked inode
		}, want: nil},
		{name: "renamed then removed is removed at its first path", events: []schemas.Activity{
			ev("rename", 5, "/m/b", from("/m/a")), ev("unlink", 5, "/m/b"),
		}, want: []Change{{Kind: Removed, Path: []byte("/m/a"), Ino: 5}}},
		{name: "renamed back is no rename", events: []schemas.Activity{
			ev("rename", 5, "/m/b", from("/m/a")), ev("rename", 5, "/m/a", from("/m/b")),
		}, want: nil},
		{name: "content A to B to A is unchanged, written with --all", all: true, events: []schemas.Activity{
			ev("open", 5, "/m/a"),
			ev("content", 5, "/m/a", hash("sha256:A", "sha256:B")),
			ev("content", 5, "/m/a", hash("sha256:B", "sha256:A")),
		}, want: []Change{{Kind: Written, Path: []byte("/m/a"), Ino: 5, Hash: "sha256:A"}}},
		{name: "written with the same hash is nothing without --all", events: []schemas.Activity{
			ev("open", 5, "/m/a"), ev("content", 5, "/m/a", hash("sha256:A", "sha256:A")),
		}, want: nil},
		{name: "rename, content, mode and owner of one file", events: []schemas.Activity{
			ev("rename", 5, "/m/z", from("/m/a")),
			ev("content", 5, "/m/z", hash("sha256:A", "sha256:B")),
			ev("permission", 5, "/m/z", oldMode(regular|0o644), mode(regular|0o600)),
			ev("permission", 5, "/m/z", oldMode(regular|0o600), mode(regular|0o640)),
			ev("ownership", 5, "/m/z", owners(0, 0, 1000, 1000)),
		}, want: []Change{
			{Kind: Renamed, Path: []byte("/m/z"), OldPath: []byte("/m/a"), Ino: 5},
			{Kind: Content, Path: []byte("/m/z"), Ino: 5, OldHash: "sha256:A", Hash: "sha256:B"},
			{Kind: Mode, Path: []byte("/m/z"), Ino: 5, OldMode: regular | 0o644, Mode: regular | 0o640},
			{Kind: Owner, Path: []byte("/m/z"), Ino: 5, UID: 1000, GID: 1000},
		}},
		{name: "chmod's mode without the file type has the type it had", events: []schemas.Activity{
			ev("permission", 5, "/m/a", oldMode(regular|0o644), mode(0o600)),
			ev("creation", 6, "/m/b", mode(regular|0o644)),
			ev("permission", 6, "/m/b", oldMode(regular|0o644), mode(0o640)),
		}, want: []Change{
			{Kind: Mode, Path: []byte("/m/a"), Ino: 5, OldMode: regular | 0o644, Mode: regular | 0o600},
			{Kind: Added, Path: []byte("/m/b"), Ino: 6, Mode: regular | 0o640},
		}},
		{name: "chmod and back is no change", events: []schemas.Activity{
			ev("permission", 5, "/m/a", oldMode(regular|0o644), mode(regular|0o600)),
			ev("permission", 5, "/m/a", oldMode(regular|0o600), mode(regular|0o644)),
		}, want: nil},
		{name: "a rename over a file with no event of its own is only a rename", events: []schemas.Activity{
			ev("rename", 5, "/m/b", from("/m/a")),
		}, want: []Change{{Kind: Renamed, Path: []byte("/m/b"), OldPath: []byte("/m/a"), Ino: 5}}},
		{name: "a rename over a followed file removes it", events: []schemas.Activity{
			ev("content", 6, "/m/b", hash("sha256:A", "sha256:B")),
			ev("rename", 5, "/m/b", from("/m/a")),
		}, want: []Change{
			{Kind: Removed, Path: []byte("/m/b"), Ino: 6},
			{Kind: Renamed, Path: []byte("/m/b"), OldPath: []byte("/m/a"), Ino: 5},
		}},
		{name: "an exchange renames both", events: []schemas.Activity{
			ev("content", 6, "/m/b", hash("sha256:A", "sha256:B")),
			ev("rename", 5, "/m/b", from("/m/a")),
			ev("rename", 6, "/m/a", from("/m/b")),
		}, want: []Change{
			{Kind: Renamed, Path: []byte("/m/a"), OldPath: []byte("/m/b"), Ino: 6},
			{Kind: Content, Path: []byte("/m/a"), Ino: 6, OldHash: "sha256:A", Hash: "sha256:B"},
			{Kind: Renamed, Path: []byte("/m/b"), OldPath: []byte("/m/a"), Ino: 5},
		}},
		{name: "moved in is added, moved out is removed", events: []schemas.Activity{
			ev("rename", 5, "/m/in", mode(regular|0o644)),
			ev("rename", 6, "", from("/m/out")),
		}, want: []Change{
			{Kind: Added, Path: []byte("/m/in"), Ino: 5, Mode: regular | 0o644},
			{Kind: Removed, Path: []byte("/m/out"), Ino: 6},
		}},
		{name: "a directory's rename moves the files followed below it", events: []schemas.Activity{
			ev("content", 7, "/m/d/f", hash("sha256:A", "sha256:B")),
			ev("rename", 6, "/m/e", from("/m/d"), mode(dir|0o755)),
			ev("content", 7, "/m/e/f", hash("sha256:B", "sha256:C")),
		}, want: []Change{
			{Kind: Renamed, Path: []byte("/m/e"), OldPath: []byte("/m/d"), Ino: 6},
			{Kind: Renamed, Path: []byte("/m/e/f"), OldPath: []byte("/m/d/f"), Ino: 7},
			{Kind: Content, Path: []byte("/m/e/f"), Ino: 7, OldHash: "sha256:A", Hash: "sha256:C"},
		}},
		{name: "a reused inode is a new file", events: []schemas.Activity{
			ev("unlink", 5, "/m/a"), ev("creation", 5, "/m/b", mode(regular|0o644)),
		}, want: []Change{
			{Kind: Removed, Path: []byte("/m/a"), Ino: 5},
			{Kind: Added, Path: []byte("/m/b"), Ino: 5, Mode: regular | 0o644},
		}},
		{name: "a hard link is a new path with the file's content", events: []schemas.Activity{
			ev("content", 5, "/m/a", hash("sha256:A", "sha256:B")),
			ev("link", 5, "/m/l", mode(regular|0o644)),
			ev("content", 5, "/m/a", hash("sha256:B", "sha256:C")),
		}, want: []Change{
			{Kind: Content, Path: []byte("/m/a"), Ino: 5, OldHash: "sha256:A", Hash: "sha256:C"},
			{Kind: Added, Path: []byte("/m/l"), Ino: 5, Hash: "sha256:C", Mode: regular | 0o644},
		}},
		{name: "no hash known before", events: []schemas.Activity{
			ev("content", 5, "/m/a", hash("", "sha256:B")),
		}, want: []Change{{Kind: Content, Path: []byte("/m/a"), Ino: 5, Hash: "sha256:B"}}},
		{name: "a content event without a hash says why", events: []schemas.Activity{
			ev("content", 5, "/m/a", func(a *schemas.Activity) { a.OldHash, a.HashState = "sha256:A", "too_large" }),
		}, want: []Change{{Kind: Content, Path: []byte("/m/a"), Ino: 5, OldHash: "sha256:A", HashState: "too_large"}}},
		{name: "drift is a change and says what the scan found", events: []schemas.Activity{
			ev("drift", 5, "/m/a", hash("sha256:A", "sha256:B"), oldMode(regular|0o644), mode(regular|0o600),
				func(a *schemas.Activity) { a.Size = 9 }),
		}, want: []Change{
			{Kind: Content, Path: []byte("/m/a"), Ino: 5, OldHash: "sha256:A", Hash: "sha256:B"},
			{Kind: Mode, Path: []byte("/m/a"), Ino: 5, OldMode: regular | 0o644, Mode: regular | 0o600},
			{Kind: Drift, Path: []byte("/m/a"), Ino: 5, OldHash: "sha256:A", Hash: "sha256:B",
				OldMode: regular | 0o644, Mode: regular | 0o600, Size: 9},
		}},
		{name: "gaps make it incomplete; xattrs are no change", gaps: 1, events: []schemas.Activity{
			{Type: schemas.TypeGap, Dev: 1, Reason: "loss", Lost: 3}, ev("xattr_set", 5, "/m/a"),
		}, want: nil},
		{name: "match keeps a rename whose old path matches", match: "/m/keep", events: []schemas.Activity{
			ev("rename", 5, "/m/other", from("/m/keep/a")),
			ev("creation", 6, "/m/x"),
			ev("creation", 7, "/m/keep/b"),
		}, want: []Change{
			{Kind: Added, Path: []byte("/m/keep/b"), Ino: 7},
			{Kind: Renamed, Path: []byte("/m/other"), OldPath: []byte("/m/keep/a"), Ino: 5},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{All: c.all}
			if c.match != "" {
				opts.Match = func(p []byte) bool { return strings.HasPrefix(string(p), c.match) }
			}
			r := Compute(c.events, opts)
			for i := range c.want {
				c.want[i].Dev = 1
			}
			if got, want := lines(r.Changes), lines(c.want); !slices.Equal(got, want) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if len(r.Gaps) != c.gaps || r.Incomplete() != (c.gaps > 0) {
				t.Errorf("gaps %v, want %d", r.Gaps, c.gaps)
			}
		})
	}
}
