// Package glob owns the monitored-path patterns, the one meaning a user's glob has everywhere: in the
// sensor (which paths it tracks and which prefixes it gives the kernel), in the resolver (pipeline's
// Patterns, the scope of what it reports) and in the client's path filter. It parses and validates
// patterns, matches a host path against them, and plans what the kernel needs for them. It is a leaf
// beside schemas, so pipeline and client import it without importing sensor. No other package calls
// doublestar.
//
// Semantics, those of github.com/bmatcuk/doublestar/v4 Match on '/'-separated paths but for one rule:
//
//	/srv/app          the directory (or file) itself
//	/srv/app/**       the directory and everything below it, at any depth
//	/srv/app/*.conf   direct children only: a '*' (and '?', '[...]', '{a,b}') never crosses '/'
//	/srv/**/x.conf    '**' is any number of components, zero included
//
// The one rule where it departs from doublestar: a trailing "/**" matches zero components after any
// component, a wildcard one included, so "/a*/**" matches "/a" (and "/ab") exactly as "/a/**" matches
// "/a"; doublestar says no for "/a*/**". It is decided this way because "P/**" then always means "what
// P matches and everything below it", whatever P is; because "**" is zero or more components everywhere
// else; and because the sensor's plan depends on it: the directory a "/a*/**" pattern names is itself a
// match, its inode tracked, and the resolver and client must report what the sensor reports. Runs of
// "**" collapse into one, and patterns and paths are cleaned (path.Clean) before matching, so a
// component is never empty: "/*" does not match "/" (doublestar lets '*' match the root's empty name).
//
// Match is the rule a resolver applies to decide whether an event's host path is monitored. It works
// on components: split the cleaned path on '/', walk the pattern's literal base component by
// component, then run the remaining pattern components as a small NFA where "**" may consume zero or
// more components and any other component matches exactly one (doublestar's single-component rules).
// The sensor needs two more questions, answered per directory while it scans: is a path monitored
// (Match), and could anything below a directory still be (CouldContain). Directories for which
// CouldContain holds are the "parents of a glob's matches": the sensor tracks their inodes so that files
// created in them later reach the kernel's tracked set (a file under /srv/app/*.conf is seen because
// /srv/app is tracked).
//
// Base is a pattern's literal directory prefix: the leading components without a wildcard. Plan says
// which bases become kernel path prefixes: only those the inode set cannot cover (see Plan).
//
// Patterns and Sets are immutable after Compile/NewSet and safe for concurrent use.
package glob
