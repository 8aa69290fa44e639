package glob_test

import (
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/factstream/factstream/client"
	"github.com/factstream/factstream/glob"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"pgregory.net/rapid"
)

// casesPerCheck is how many pattern/path cases one rapid check draws: with rapid's default 100 checks
// the test covers 10,000 cases.
const casesPerCheck = 100

// TestPatternMeansOneThing checks, on random patterns and paths over a small alphabet (so that matches
// are frequent), that every user of a pattern gives the same answer: the sensor's Set and Cursor, the
// resolver's scope (pipeline.Patterns), the client's filter, and doublestar with the one rule glob adds
// (a trailing "/**" matches zero components after any component). They also agree on which patterns
// are valid. For a match, every directory between the matching pattern's base and the path must be one
// the sensor tracks and descends into (CouldContain), or the kernel plan would miss the path.
func TestPatternMeansOneThing(t *testing.T) {
	patComp := rapid.SampledFrom([]string{"a", "b", "ab", "*", "?", "[a-c]", "{a,b}", "a*", "?b", "**", "{a,b"})
	pathComp := rapid.SampledFrom([]string{"a", "b", "c", "ab", "ba"})
	var cases, matched, invalid int
	rapid.Check(t, func(t *rapid.T) {
		for range casesPerCheck {
			cases++
			var pats []string
			for range rapid.IntRange(1, 3).Draw(t, "patterns") {
				pat := "/" + strings.Join(rapid.SliceOfN(patComp, 0, 4).Draw(t, "pattern"), "/")
				if rapid.Bool().Draw(t, "trailing **") {
					pat = strings.TrimSuffix(pat, "/") + "/**"
				}
				pats = append(pats, pat)
			}
			path := "/" + strings.Join(rapid.SliceOfN(pathComp, 0, 5).Draw(t, "path"), "/")
			switch valid, m := agree(t, pats, path); {
			case !valid:
				invalid++
			case m:
				matched++
			}
		}
	})
	t.Logf("%d cases: %d matched, %d had an invalid pattern", cases, matched, invalid)
}

// agree checks one case and returns whether the patterns are valid and match path.
func agree(t *rapid.T, pats []string, path string) (valid, matched bool) {
	set, setErr := glob.NewSet("paths", pats)
	scope, scopeErr := pipeline.NewPatterns(pats, nil)
	filter := client.Filter{Paths: pats}
	filterErr := filter.Validate()
	if (setErr == nil) != (scopeErr == nil) || (setErr == nil) != (filterErr == nil) {
		t.Fatalf("%q: valid? sensor %v, resolver %v, client %v", pats, setErr, scopeErr, filterErr)
	}
	if setErr != nil {
		return false, false
	}
	want := set.Match(path)
	if got := set.Cursor(path).Matched(); got != want {
		t.Fatalf("%q at %q: Set.Match %v, Cursor.Matched %v", pats, path, want, got)
	}
	if got := scope.Match("web-1", []byte(path)); got != want {
		t.Fatalf("%q at %q: sensor %v, resolver %v", pats, path, want, got)
	}
	if got := filter.Match(&schemas.Activity{HostPath: []byte(path)}); got != want {
		t.Fatalf("%q at %q: sensor %v, client %v", pats, path, want, got)
	}
	oracle := false
	for _, p := range set.Patterns() {
		m := p.Match(path)
		if m != ruleMatch(p.String(), path) {
			t.Fatalf("%q at %q: glob %v, doublestar with the trailing-/** rule %v", p, path, m, !m)
		}
		oracle = oracle || m
		if m {
			ancestorsTracked(t, set, p, path)
		}
	}
	if oracle != want {
		t.Fatalf("%q at %q: Set.Match %v, its patterns %v", pats, path, want, oracle)
	}
	return true, want
}

// ancestorsTracked checks that the sensor descends into every directory above path, and tracks those
// between p's base and path.
func ancestorsTracked(t *rapid.T, set *glob.Set, p *glob.Pattern, path string) {
	for dir := path; dir != "/"; {
		dir = dir[:max(strings.LastIndexByte(dir, '/'), 1)]
		if !set.Cursor(dir).Descend() {
			t.Fatalf("%q matches %q, but a scan would not descend into %q", p, path, dir)
		}
		if glob.Under(dir, p.Base()) && !p.CouldContain(dir) {
			t.Fatalf("%q matches %q, but CouldContain(%q) is false", p, path, dir)
		}
	}
}

// ruleMatch is doublestar.Match with glob's one rule: a trailing "/**" also matches zero components
// after a wildcard component. The root has no component for a '*' to match (doublestar lets "/*" match
// "/" with an empty name), so only "/" and "/**" match it.
func ruleMatch(pattern, name string) bool {
	if name == "/" {
		return pattern == "/" || pattern == "/**"
	}
	if ok, _ := doublestar.Match(pattern, name); ok {
		return true
	}
	trimmed, ok := strings.CutSuffix(pattern, "/**")
	if !ok || trimmed == "" {
		return false
	}
	m, _ := doublestar.Match(trimmed, name)
	return m
}
