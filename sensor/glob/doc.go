// Package glob owns the monitored-path patterns of a sensor: parsing and validating them (doublestar
// semantics), matching a host path against them, and planning what the kernel needs for them.
//
// Semantics, the same as github.com/bmatcuk/doublestar/v4 Match on '/'-separated paths:
//
//	/srv/app          the directory (or file) itself
//	/srv/app/**       the directory and everything below it, at any depth
//	/srv/app/*.conf   direct children only: a '*' (and '?', '[...]', '{a,b}') never crosses '/'
//	/srv/**/x.conf    '**' is any number of components, zero included
//
// Match is the rule a resolver applies to decide whether an event's host path is monitored. It is
// doublestar.Match but for one doublestar quirk (see Pattern.Match), and it works on components: split
// the cleaned path on '/', walk the pattern's literal base component by component, then run the
// remaining pattern components as a small NFA where "**" may consume zero or more components and any
// other component matches exactly one (doublestar's single-component rules). A resolver can mirror it
// from pattern.go (about 60 lines) or call this package. The sensor needs
// two more questions, answered per directory while it scans: is a path monitored (Match), and could
// anything below a directory still be (CouldContain). Directories for which CouldContain holds are the
// "parents of a glob's matches": the sensor tracks their inodes so that files created in them later
// reach the kernel's tracked set (a file under /srv/app/*.conf is seen because /srv/app is tracked).
//
// Base is a pattern's literal directory prefix: the leading components without a wildcard. Plan says
// which bases become kernel path prefixes: only those the inode set cannot cover (see Plan).
//
// Patterns and Sets are immutable after Compile/NewSet and safe for concurrent use.
package glob
