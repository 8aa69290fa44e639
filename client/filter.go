package client

import (
	"errors"
	"slices"
	"strings"

	"github.com/factstream/factstream/glob"
	"github.com/factstream/factstream/schemas"
)

// Types returns the FILE_ACTIVITY types a Filter accepts: every kind of package schemas that becomes
// one (the file kinds, then content), then schemas.TypeGap and schemas.TypeDrift.
func Types() []string {
	var ts []string
	for k := schemas.Kind(1); k.Valid(); k++ {
		if k.Activity() {
			ts = append(ts, k.String())
		}
	}
	return append(ts, schemas.TypeGap, schemas.TypeDrift)
}

// Filter selects enriched events. Hosts and Types select subjects (fact.activity.<host>.<type>), so the
// server sends only those; Paths are absolute globs (/etc/**, /srv/*.conf) with the meaning package glob
// gives them, the same as the sensor's and the resolver's, matched on the client against an event's
// path, host path and, for a rename, old path and old host path. Values of one field are alternatives,
// fields combine, and an empty field selects everything.
type Filter struct {
	Hosts []string
	Types []string
	Paths []string
}

// Validate checks every value and returns one *ValueError per bad one, joined.
func (f Filter) Validate() error {
	var errs []error
	for _, h := range f.Hosts {
		if h == "" || strings.ContainsAny(h, ".*> \t\r\n") {
			errs = append(errs, &ValueError{Field: "host", Value: h, Reason: "not a host name (no '.', '*', '>' or white space)", Err: ErrInvalidFilter})
		}
	}
	types := Types()
	for _, t := range f.Types {
		if !slices.Contains(types, t) {
			errs = append(errs, &ValueError{Field: "type", Value: t, Reason: "want one of " + strings.Join(types, ", "), Err: ErrInvalidFilter})
		}
	}
	for _, p := range f.Paths {
		if _, err := glob.Compile(p); err != nil {
			errs = append(errs, &ValueError{Field: "path", Value: p, Reason: "not an absolute glob like /etc/** or /srv/app/*.conf", Err: ErrInvalidFilter})
		}
	}
	return errors.Join(errs...)
}

// Subjects returns the FACT_ACTIVITY subjects that Hosts and Types select, sorted and without
// duplicates.
func (f Filter) Subjects() []string {
	hosts, types := f.Hosts, f.Types
	if len(hosts) == 0 {
		hosts = []string{"*"}
	}
	if len(types) == 0 {
		types = []string{"*"}
	}
	subs := make([]string, 0, len(hosts)*len(types))
	for _, h := range hosts {
		for _, t := range types {
			subs = append(subs, schemas.ActivitySubject(h, t))
		}
	}
	slices.Sort(subs)
	return slices.Compact(subs)
}

// Match reports whether a passes the filter: its host and type are among Hosts and Types, and one of
// its paths matches one of the globs. Subscribe's consumer already selects hosts and types by subject.
// A glob that Validate rejects matches nothing. Match compiles the globs at every call; Subscribe
// compiles them once.
func (f Filter) Match(a *schemas.Activity) bool {
	if len(f.Hosts) > 0 && !slices.Contains(f.Hosts, a.Host) {
		return false
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, a.Type) {
		return false
	}
	return f.globs().match(a)
}

// pathGlobs are a Filter's compiled Paths; all is true when it has none.
type pathGlobs struct {
	all  bool
	pats []*glob.Pattern
}

// globs compiles the Paths, leaving out those Validate rejects.
func (f Filter) globs() pathGlobs {
	g := pathGlobs{all: len(f.Paths) == 0}
	for _, p := range f.Paths {
		if pat, err := glob.Compile(p); err == nil {
			g.pats = append(g.pats, pat)
		}
	}
	return g
}

// match reports whether a passes the path globs.
func (g pathGlobs) match(a *schemas.Activity) bool {
	if g.all {
		return true
	}
	for _, p := range [][]byte{a.Path, a.HostPath, a.OldPath, a.OldHostPath} {
		if len(p) == 0 {
			continue
		}
		for _, pat := range g.pats {
			if pat.Match(string(p)) {
				return true
			}
		}
	}
	return false
}
