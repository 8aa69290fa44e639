package pipeline

import (
	"fmt"
	"maps"

	"github.com/bmatcuk/doublestar/v4"
)

// Patterns are the monitored host-path globs the resolver reports on, with doublestar semantics: a `*`
// never crosses `/` (so /srv/app/*.conf matches only direct children), `**` matches any number of
// components (so /srv/app/** is the directory and everything below it). The kernel already reports only
// monitored files; these refine it in user space, e.g. the files of a directory that is tracked because
// of a non-recursive pattern but do not match it.
//
// Patterns are immutable once built and safe for concurrent use.
type Patterns struct {
	global []string
	hosts  map[string][]string
}

// NewPatterns checks and returns the patterns: global for every host, perHost replacing them for the hosts
// it names. No pattern at all for a host means every event of it is reported.
func NewPatterns(global []string, perHost map[string][]string) (*Patterns, error) {
	p := &Patterns{global: append([]string(nil), global...), hosts: maps.Clone(perHost)}
	check := func(host string, ps []string) error {
		for _, pat := range ps {
			if !doublestar.ValidatePattern(pat) || len(pat) == 0 || pat[0] != '/' {
				return fmt.Errorf("pattern %q of host %q: %w", pat, host, ErrBadPattern)
			}
		}
		return nil
	}
	if err := check("*", p.global); err != nil {
		return nil, err
	}
	for h, ps := range p.hosts {
		if err := check(h, ps); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Patterns) forHost(host string) []string {
	if p == nil {
		return nil
	}
	if ps, ok := p.hosts[host]; ok {
		return ps
	}
	return p.global
}

// Match reports whether path, a host path, matches one of host's patterns, or host has none.
func (p *Patterns) Match(host string, path []byte) bool {
	ps := p.forHost(host)
	if len(ps) == 0 {
		return true
	}
	s := string(path)
	for _, pat := range ps {
		if ok, _ := doublestar.Match(pat, s); ok {
			return true
		}
	}
	return false
}
