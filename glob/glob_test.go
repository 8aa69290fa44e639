package glob

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
	"pgregory.net/rapid"
)

func TestCompile(t *testing.T) {
	tests := []struct {
		in, base string
		literal  bool
		err      error
	}{
		{in: "/srv/app", base: "/srv/app", literal: true},
		{in: "/srv/app/", base: "/srv/app", literal: true},
		{in: "/srv/app/**", base: "/srv/app"},
		{in: "/srv/app/*.conf", base: "/srv/app"},
		{in: "/srv/*/conf/**", base: "/srv"},
		{in: "/**", base: "/"},
		{in: "/", base: "/", literal: true},
		{in: "/srv//app/./x/../y", base: "/srv/app/y", literal: true},
		{in: `/srv/a\*b`, base: "/srv"},
		{in: "/srv/[ab]/x", base: "/srv"},
		{in: "etc/**", err: ErrNotAbsolute},
		{in: "", err: ErrBadPattern},
		{in: "/srv/[a", err: ErrBadPattern},
		{in: "/srv/{a,b", err: ErrBadPattern},
		{in: "/srv/{a,b/c}", err: ErrBadPattern},
		{in: "/srv/a\x00b", err: ErrBadPattern},
		{in: `/srv/a\/b`, err: ErrBadPattern},
		{in: `/\/`, err: ErrBadPattern},
		{in: "/" + strings.Repeat("*/", 63) + "x", err: ErrBadPattern},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Compile(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Compile(%q) = %v, want %v", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.in, err)
			}
			if p.Base() != tt.base || p.Literal() != tt.literal {
				t.Errorf("Compile(%q): base %q literal %v, want %q %v", tt.in, p.Base(), p.Literal(), tt.base, tt.literal)
			}
		})
	}
}

func TestNewSetNamesBadKeys(t *testing.T) {
	_, err := NewSet("paths", []string{"/ok/**", "/fine", "etc/**", "/x/[y"})
	if err == nil {
		t.Fatal("want an error")
	}
	want := []string{`paths[2]: "etc/**": not absolute`, `paths[3]: "/x/[y": bad pattern`}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if !errors.Is(err, ErrNotAbsolute) || !errors.Is(err, ErrBadPattern) {
		t.Errorf("error %v does not match both sentinels", err)
	}
}

func TestRoots(t *testing.T) {
	tests := []struct {
		pats, roots []string
	}{
		{[]string{"/srv/app/**", "/srv/app/*.conf", "/srv/app"}, []string{"/srv/app"}},
		{[]string{"/etc/**", "/srv/app/*.conf", "/srv/**/x"}, []string{"/etc", "/srv"}},
		{[]string{"/srv/app-old/**", "/srv/app/**"}, []string{"/srv/app", "/srv/app-old"}},
		{[]string{"/**", "/etc/x"}, []string{"/"}},
	}
	for _, tt := range tests {
		s, err := NewSet("paths", tt.pats)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Roots(); !slices.Equal(got, tt.roots) {
			t.Errorf("Roots(%q) = %q, want %q", tt.pats, got, tt.roots)
		}
	}
}

func TestPlan(t *testing.T) {
	disk := map[string]Kind{"/srv/app": Dir, "/etc": Dir, "/etc/shadow": NotDir, "/srv": Dir, "/srv/app/data": Dir}
	stat := func(p string) Kind { return disk[p] }
	tests := []struct {
		name     string
		pats     []string
		prefixes []string
	}{
		{"existing dirs need none", []string{"/srv/app/**", "/srv/app/*.conf", "/srv/app", "/etc/**"}, nil},
		{"a literal file is a prefix", []string{"/etc/shadow", "/etc/**"}, []string{"/etc/shadow"}},
		{"a missing base is a prefix", []string{"/opt/new/**", "/opt/new/x/*.conf", "/srv/app/**"}, []string{"/opt/new"}},
		{"nested prefixes collapse", []string{"/opt/**", "/opt/x/y", "/var/lib/x"}, []string{"/opt", "/var/lib/x"}},
		{"a missing literal is a prefix", []string{"/srv/app/missing.conf"}, []string{"/srv/app/missing.conf"}},
		{"a literal dir needs none", []string{"/srv/app/data"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSet("paths", tt.pats)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Plan(stat); !slices.Equal(got, tt.prefixes) {
				t.Errorf("Plan(%q) = %q, want %q", tt.pats, got, tt.prefixes)
			}
		})
	}
}

func TestCursor(t *testing.T) {
	type want struct{ matched, could, descend, base bool }
	tests := []struct {
		pats []string
		path string
		want want
	}{
		{[]string{"/srv/app/*.conf"}, "/srv", want{descend: true}},
		{[]string{"/srv/app/*.conf"}, "/srv/app", want{could: true, descend: true, base: true}},
		{[]string{"/srv/app/*.conf"}, "/srv/app/a.conf", want{matched: true}},
		{[]string{"/srv/app/*.conf"}, "/srv/app/sub", want{}},
		{[]string{"/srv/app/*.conf"}, "/srv/app/sub/a.conf", want{}},
		{[]string{"/srv/app/*.conf"}, "/srv/other", want{}},
		{[]string{"/srv/app/**"}, "/srv/app", want{matched: true, could: true, descend: true, base: true}},
		{[]string{"/srv/app/**"}, "/srv/app/a/b", want{matched: true, could: true, descend: true}},
		{[]string{"/srv/app"}, "/srv/app", want{matched: true, base: true}},
		{[]string{"/srv/app"}, "/srv/app/x", want{}},
		{[]string{"/srv/*/conf/**"}, "/srv/a", want{could: true, descend: true}},
		{[]string{"/srv/*/conf/**"}, "/srv/a/other", want{}},
		{[]string{"/srv/*/conf/**"}, "/srv/a/conf/x", want{matched: true, could: true, descend: true}},
		{[]string{"/srv/**/x.conf"}, "/srv/a/b", want{could: true, descend: true}},
		{[]string{"/srv/**/x.conf"}, "/srv/x.conf", want{matched: true, could: true, descend: true}},
		{[]string{"/srv/*.conf", "/srv/app/x/**"}, "/srv/app", want{descend: true}},
		{[]string{"/srv/*.conf", "/srv/app/x/**"}, "/srv/app/x", want{matched: true, could: true, descend: true, base: true}},
		{[]string{"/**"}, "/", want{matched: true, could: true, descend: true, base: true}},
		{[]string{"/srv/a*"}, "/srv/a\xff\n", want{matched: true}},
	}
	for _, tt := range tests {
		s, err := NewSet("paths", tt.pats)
		if err != nil {
			t.Fatal(err)
		}
		c := s.Cursor(tt.path)
		got := want{c.Matched(), c.CouldContain(), c.Descend(), c.IsBase()}
		if got != tt.want {
			t.Errorf("%q at %q: got %+v, want %+v", tt.pats, tt.path, got, tt.want)
		}
		if got.matched != s.Match(tt.path) {
			t.Errorf("%q at %q: cursor says matched=%v, Match says %v", tt.pats, tt.path, got.matched, s.Match(tt.path))
		}
		if dir, name := splitLast(tt.path); dir != "" {
			pc := s.Cursor(dir)
			if pc.ChildMatched(name) != got.matched || pc.ChildDescend(name) != got.descend {
				t.Errorf("%q at %q: Child* disagree with the child's cursor", tt.pats, tt.path)
			}
		}
	}
}

func splitLast(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		if len(p) > 1 {
			return "/", p[1:]
		}
		return "", ""
	}
	return p[:i], p[i+1:]
}

// TestCursorAgreesWithDoublestar checks, on random patterns and paths, that the incremental matcher
// gives doublestar's answer, and that CouldContain holds for every directory between a pattern's base
// and a path it matches (the scan never prunes a directory holding a match).
func TestCursorAgreesWithDoublestar(t *testing.T) {
	comp := rapid.SampledFrom([]string{"a", "b", "ab", "x.conf", "\xff", "a\nb"})
	patComp := rapid.SampledFrom([]string{"a", "b", "*", "**", "a*", "?", "[ab]", "*.conf", "{a,b}", "\xff"})
	rapid.Check(t, func(t *rapid.T) {
		pcs := rapid.SliceOfN(patComp, 0, 5).Draw(t, "pattern")
		pattern := "/" + strings.Join(pcs, "/")
		p, err := Compile(pattern)
		if err != nil {
			t.Skip("invalid pattern")
		}
		comps := rapid.SliceOfN(comp, 0, 6).Draw(t, "path")
		s := &Set{pats: []*Pattern{p}}
		c := s.Cursor("/")
		for i, name := range comps {
			cur := "/" + strings.Join(comps[:i+1], "/")
			want := doublestarMatch(p.src, cur)
			if c.ChildMatched(name) != want || p.Match(cur) != want {
				t.Fatalf("%q: ChildMatched(%q)/Match != doublestar (%v) at %q", p.src, name, want, cur)
			}
			c = c.Child(name)
			if c.Matched() != want {
				t.Fatalf("%q: cursor Matched at %q = %v, doublestar disagrees", p.src, cur, c.Matched())
			}
		}
		full := "/" + strings.Join(comps, "/")
		if !doublestarMatch(p.src, full) {
			return
		}
		for i := range comps {
			dir := "/" + strings.Join(comps[:i], "/")
			if Under(dir, p.Base()) && !p.CouldContain(dir) {
				t.Fatalf("%q matches %q but CouldContain(%q) is false", p.src, full, dir)
			}
			if !s.Cursor(dir).Descend() {
				t.Fatalf("%q matches %q but a scan would not descend into %q", p.src, full, dir)
			}
		}
	})
}

// doublestarMatch is doublestar.Match without its quirk: a trailing "/**" also matches zero components
// after a wildcard component.
func doublestarMatch(pattern, name string) bool {
	if doublestar.MatchUnvalidated(pattern, name) {
		return true
	}
	if trimmed, ok := strings.CutSuffix(pattern, "/**"); ok && trimmed != "" {
		return doublestar.MatchUnvalidated(trimmed, name)
	}
	return false
}
