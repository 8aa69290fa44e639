package pipeline

import (
	"fmt"

	"github.com/factstream/factstream/glob"
)

// Patterns are the monitored host-path globs the resolver reports on, with the meaning package glob
// gives them, the same as the sensor's: a `*` never crosses `/` (so /srv/app/*.conf matches only direct
// children), `**` matches any number of components (so /srv/app/** is the directory and everything
// below it). The kernel already reports only monitored files; these refine it in user space, e.g. the
// files of a directory that is tracked because of a non-recursive pattern but do not match it.
//
// Patterns are immutable once built and safe for concurrent use.
type Patterns struct {
	global *glob.Set
	hosts  map[string]*glob.Set
}

// NewPatterns checks and returns the patterns: global for every host, perHost replacing them for the hosts
// it names. No pattern at all for a host means every event of it is reported.
func NewPatterns(global []string, perHost map[string][]string) (*Patterns, error) {
	compile := func(host string, ps []string) (*glob.Set, error) {
		for _, pat := range ps {
			if _, err := glob.Compile(pat); err != nil {
				return nil, fmt.Errorf("pattern %q of host %q: %w (%v)", pat, host, ErrBadPattern, err)
			}
		}
		return glob.NewSet("patterns", ps)
	}
	g, err := compile("*", global)
	if err != nil {
		return nil, err
	}
	p := &Patterns{global: g, hosts: make(map[string]*glob.Set, len(perHost))}
	for h, ps := range perHost {
		if p.hosts[h], err = compile(h, ps); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// forHost returns host's patterns, nil where it has none.
func (p *Patterns) forHost(host string) *glob.Set {
	if p == nil {
		return nil
	}
	s, ok := p.hosts[host]
	if !ok {
		s = p.global
	}
	if len(s.Patterns()) == 0 {
		return nil
	}
	return s
}

// Match reports whether path, a host path, matches one of host's patterns, or host has none.
func (p *Patterns) Match(host string, path []byte) bool {
	s := p.forHost(host)
	return s == nil || s.Match(string(path))
}
