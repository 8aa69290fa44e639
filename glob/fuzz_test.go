package glob

import (
	"path"
	"strings"
	"testing"
)

// FuzzCompile feeds Compile any pattern (user input from a config file or a flag) and any path: it must
// not panic, and a pattern it accepts must be stable under recompiling, have its Base as a prefix, and
// match a path the same way whether asked at once (Match) or component by component (Cursor).
func FuzzCompile(f *testing.F) {
	for _, s := range [][2]string{
		{"/srv/app/**", "/srv/app/x"}, {"/srv/*.conf", "/srv/a.conf"}, {"/a*/**", "/a"}, {"/", "/"},
		{"/srv/{a,b}/[x-z]?", "/srv/b/yy"}, {`/a\*b/**/c`, "/a*b/c"}, {"/[a", "/a"}, {"etc/**", "etc/x"},
		{"/{a,b/c}", "/a"}, {"/a/**/**/b", "/a/b"}, {"/\xff/**", "/\xff"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		q, err := Compile(p.String())
		if err != nil || q.String() != p.String() || q.Base() != p.Base() {
			t.Fatalf("%q compiles to %q, which recompiles to %v, %v", pattern, p, q, err)
		}
		if !Under(p.String(), p.Base()) {
			t.Fatalf("%q: base %q is not a prefix", p, p.Base())
		}
		if p.Literal() && !p.Match(p.Base()) {
			t.Fatalf("literal %q does not match itself", p)
		}
		m := p.Match(name)
		if !strings.HasPrefix(name, "/") {
			if m {
				t.Fatalf("%q matches the relative %q", p, name)
			}
			return
		}
		s := &Set{pats: []*Pattern{p}}
		if c := s.Cursor(path.Clean(name)); c.Matched() != m {
			t.Fatalf("%q at %q: Match %v, Cursor %v", p, name, m, c.Matched())
		}
		p.CouldContain(name)
	})
}
