package pipeline

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/factstream/factstream/glob"
)

// PathMatcher returns what reports whether a host path is under q: q itself or below it when q is a host
// path, a match when q is an absolute pattern of package glob (it has a '*', '?', '[' or '{'). Empty q
// matches everything. It is how History reads its Path, for the commands that filter the same way.
func PathMatcher(q string) (func(p []byte) bool, error) {
	if isPattern(q) {
		pat, err := glob.Compile(q)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w (%v)", q, ErrBadPattern, err)
		}
		return func(p []byte) bool { return pat.Match(string(p)) }, nil
	}
	prefix := []byte(strings.TrimSuffix(q, "/"))
	return func(p []byte) bool {
		return len(prefix) == 0 || bytes.Equal(p, prefix) ||
			(bytes.HasPrefix(p, prefix) && len(p) > len(prefix) && p[len(prefix)] == '/')
	}, nil
}

// isPattern reports whether a history path is a pattern rather than a host path.
func isPattern(q string) bool { return strings.ContainsAny(q, "*?[{") }
