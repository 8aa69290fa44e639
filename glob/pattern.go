package glob

import (
	"fmt"
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// maxSegments bounds the components after a pattern's base: the matcher keeps its states in a uint64.
const maxSegments = 62

// Pattern is one compiled monitored-path pattern.
type Pattern struct {
	src  string   // cleaned pattern, what Match uses
	base []string // components of the literal prefix
	segs []string // components after it; "**" is any number of components
}

// Compile validates and compiles an absolute pattern. The error wraps ErrNotAbsolute or ErrBadPattern
// and says why.
func Compile(pattern string) (*Pattern, error) {
	switch {
	case pattern == "":
		return nil, fmt.Errorf("%w: empty", ErrBadPattern)
	case !strings.HasPrefix(pattern, "/"):
		return nil, ErrNotAbsolute
	case strings.IndexByte(pattern, 0) >= 0:
		return nil, fmt.Errorf("%w: contains a NUL byte", ErrBadPattern)
	case !doublestar.ValidatePattern(pattern):
		return nil, fmt.Errorf("%w: unbalanced '[' or '{', or a trailing '\\'", ErrBadPattern)
	}
	comps := collapse(components(path.Clean(pattern)))
	src := "/" + strings.Join(comps, "/")
	if err := checkBraces(comps); err != nil {
		return nil, err
	}
	for _, c := range comps {
		if !doublestar.ValidatePattern(c) {
			return nil, fmt.Errorf("%w: a '\\' escapes '/' or ends a component", ErrBadPattern)
		}
	}
	p := &Pattern{src: src}
	i := 0
	for i < len(comps) && literal(comps[i]) {
		i++
	}
	p.base, p.segs = comps[:i], comps[i:]
	if len(p.segs) > maxSegments {
		return nil, fmt.Errorf("%w: more than %d components after the literal prefix", ErrBadPattern, maxSegments)
	}
	return p, nil
}

// checkBraces rejects alternatives that span components ("{a,b/c}"): the scan matches component by
// component.
func checkBraces(comps []string) error {
	for _, c := range comps {
		depth := 0
		for i := 0; i < len(c); i++ {
			switch c[i] {
			case '\\':
				i++
			case '{':
				depth++
			case '}':
				depth--
			}
		}
		if depth != 0 {
			return fmt.Errorf("%w: alternatives {...} must not contain '/'", ErrBadPattern)
		}
	}
	return nil
}

// collapse replaces runs of "**" components by one: they mean the same, and doublestar disagrees with
// itself on them ("/a/**" matches "/a", "/a/**/**" does not).
func collapse(comps []string) []string {
	out := comps[:0]
	for _, c := range comps {
		if c == "**" && len(out) > 0 && out[len(out)-1] == "**" {
			continue
		}
		out = append(out, c)
	}
	return out
}

// components splits a cleaned absolute path into its components; "/" has none.
func components(p string) []string {
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// literal reports whether a component has no wildcard or escape.
func literal(c string) bool { return !strings.ContainsAny(c, `*?[{\`) }

// String returns the cleaned pattern.
func (p *Pattern) String() string { return p.src }

// Base returns the literal directory prefix: the leading components without wildcards ("/srv/app" for
// "/srv/app/*.conf", the whole path for a pattern without wildcards, "/" for "/**").
func (p *Pattern) Base() string { return "/" + strings.Join(p.base, "/") }

// Literal reports whether the pattern has no wildcards: it names exactly one path, its Base.
func (p *Pattern) Literal() bool { return len(p.segs) == 0 }

// Match reports whether the host path name is monitored by p. It agrees with doublestar.Match but for
// one quirk of doublestar, which Match does not copy: a trailing "/**" matches zero components after a
// wildcard component too ("/a*/**" matches "/a" as "/a/**" does; doublestar says no).
func (p *Pattern) Match(name string) bool {
	if !strings.HasPrefix(name, "/") {
		return false
	}
	st := p.start()
	for _, c := range components(path.Clean(name)) {
		if st = p.step(st, c); st.k == off {
			return false
		}
	}
	return st.below() && st.nfa&p.accept() != 0
}

// CouldContain reports whether some path strictly below dir could match p (so dir's inode is worth
// tracking, and a scan must descend into it). Directories above the pattern's Base are not counted:
// they hold no match directly.
func (p *Pattern) CouldContain(dir string) bool {
	st := p.start()
	for _, c := range components(path.Clean(dir)) {
		st = p.step(st, c)
	}
	return st.below() && st.nfa&^p.accept() != 0
}

// state is where a path stands relative to a pattern: on the way to its base (k base components
// matched), at or below its base (nfa: the set of positions in segs reached), or off it.
type state struct {
	k     int8   // base components matched, while above the base; -1 at or below it; -2 off
	depth uint16 // components below the base, saturating
	nfa   uint64 // positions in segs reached (bit len(segs): the whole pattern matched)
}

const (
	atOrBelow = -1
	off       = -2
)

func (s state) below() bool { return s.k == atOrBelow }

func (p *Pattern) accept() uint64 { return 1 << len(p.segs) }

// start is the state of "/".
func (p *Pattern) start() state {
	if len(p.base) == 0 {
		return state{k: atOrBelow, nfa: p.closure(1)}
	}
	return state{k: 0}
}

// step is the state of the child name of a path in state s.
func (p *Pattern) step(s state, name string) state {
	switch {
	case s.k == off:
		return s
	case s.k >= 0:
		if name != p.base[s.k] {
			return state{k: off}
		}
		if int(s.k)+1 == len(p.base) {
			return state{k: atOrBelow, nfa: p.closure(1)}
		}
		return state{k: s.k + 1}
	}
	var next uint64
	for i, seg := range p.segs {
		if s.nfa&(1<<i) == 0 {
			continue
		}
		if seg == "**" {
			next |= 1 << i
		} else if matchSegment(seg, name) {
			next |= 1 << (i + 1)
		}
	}
	if next == 0 {
		return state{k: off}
	}
	return state{k: atOrBelow, depth: min(s.depth+1, 1<<15), nfa: p.closure(next)}
}

// closure adds the positions after every reached "**", which may match zero components.
func (p *Pattern) closure(set uint64) uint64 {
	for i, seg := range p.segs {
		if seg == "**" && set&(1<<i) != 0 {
			set |= 1 << (i + 1)
		}
	}
	return set
}

// matchSegment matches one path component against one pattern component.
func matchSegment(seg, name string) bool {
	if literal(seg) {
		return seg == name
	}
	if seg == "*" {
		return true
	}
	return doublestar.MatchUnvalidated(seg, name)
}
