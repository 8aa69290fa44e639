package glob

import (
	"fmt"
	"slices"
	"strings"
)

// Set is a compiled list of patterns.
type Set struct {
	pats []*Pattern
}

// NewSet compiles patterns. The error names every bad pattern by index, as in
// `paths[2]: "etc/**": not absolute`, with key as the name of the list.
func NewSet(key string, patterns []string) (*Set, error) {
	s := &Set{}
	var errs []error
	seen := map[string]bool{}
	for i, src := range patterns {
		p, err := Compile(src)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %q: %w", key, i, src, err))
			continue
		}
		if !seen[p.src] {
			seen[p.src] = true
			s.pats = append(s.pats, p)
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return s, nil
}

// Patterns returns the compiled patterns, duplicates removed, in the order given.
func (s *Set) Patterns() []*Pattern { return s.pats }

// Strings returns the cleaned patterns.
func (s *Set) Strings() []string {
	out := make([]string, len(s.pats))
	for i, p := range s.pats {
		out[i] = p.src
	}
	return out
}

// Match reports whether any pattern matches the host path name.
func (s *Set) Match(name string) bool {
	for _, p := range s.pats {
		if p.Match(name) {
			return true
		}
	}
	return false
}

// Roots returns the bases a scan starts from: every pattern's Base that is not below another one,
// sorted. Walking them covers every pattern.
func (s *Set) Roots() []string {
	bases := make([]string, 0, len(s.pats))
	for _, p := range s.pats {
		bases = append(bases, p.Base())
	}
	return outermost(bases)
}

// outermost sorts paths and keeps those not below another one. It reorders paths.
func outermost(paths []string) []string {
	slices.Sort(paths)
	paths = slices.Compact(paths)
	var out []string
	for _, p := range paths {
		if len(out) == 0 || !Under(p, out[len(out)-1]) {
			out = append(out, p)
		}
	}
	return out
}

// Under reports whether path p is dir or below it (whole components).
func Under(p, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// Cursor is where one path stands against every pattern of a set. Walking a tree, a scan derives a
// child's cursor from its directory's with Child, so no path is matched from the start twice. A Cursor
// is a value; Child allocates.
type Cursor struct {
	set *Set
	st  []state
}

// Cursor returns the cursor of a cleaned absolute path.
func (s *Set) Cursor(p string) Cursor {
	c := Cursor{set: s, st: make([]state, len(s.pats))}
	for i, pat := range s.pats {
		c.st[i] = pat.start()
	}
	for _, comp := range components(p) {
		c = c.Child(comp)
	}
	return c
}

// Child returns the cursor of the entry name inside the path of c.
func (c Cursor) Child(name string) Cursor {
	n := Cursor{set: c.set, st: make([]state, len(c.st))}
	for i, p := range c.set.pats {
		n.st[i] = p.step(c.st[i], name)
	}
	return n
}

// Matched reports whether the path is monitored by some pattern.
func (c Cursor) Matched() bool {
	for i, p := range c.set.pats {
		if c.st[i].below() && c.st[i].nfa&p.accept() != 0 {
			return true
		}
	}
	return false
}

// CouldContain reports whether something strictly below the path could match some pattern.
func (c Cursor) CouldContain() bool {
	for i, p := range c.set.pats {
		if c.st[i].below() && c.st[i].nfa&^p.accept() != 0 {
			return true
		}
	}
	return false
}

// Tracked reports whether the path's inode belongs in the kernel's tracked set: it is monitored, or it
// is a directory in which monitored paths could appear.
func (c Cursor) Tracked() bool { return c.Matched() || c.CouldContain() }

// Descend reports whether a scan must read the directory: something below may be tracked, or it lies
// on the way to some pattern's base.
func (c Cursor) Descend() bool {
	for i := range c.set.pats {
		if c.st[i].k >= 0 {
			return true
		}
	}
	return c.CouldContain()
}

// IsBase reports whether the path is the Base of some pattern.
func (c Cursor) IsBase() bool {
	for i := range c.set.pats {
		if c.st[i].below() && c.st[i].depth == 0 {
			return true
		}
	}
	return false
}

// ChildMatched is Child(name).Matched() without allocating: whether the entry name inside the path is
// monitored. A scan uses it for files.
func (c Cursor) ChildMatched(name string) bool {
	for i, p := range c.set.pats {
		if s := p.step(c.st[i], name); s.below() && s.nfa&p.accept() != 0 {
			return true
		}
	}
	return false
}

// ChildDescend is Child(name).Descend() without allocating.
func (c Cursor) ChildDescend(name string) bool {
	for i, p := range c.set.pats {
		s := p.step(c.st[i], name)
		if s.k >= 0 || (s.below() && s.nfa&^p.accept() != 0) {
			return true
		}
	}
	return false
}
