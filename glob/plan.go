package glob

// Kind of a path on disk, as Plan needs it.
type Kind uint8

// Kinds.
const (
	Missing Kind = iota // does not exist (or cannot be read)
	Dir
	NotDir // a file, symlink, device...
)

// Plan returns the host paths that must be kernel path prefixes for s, given what is on disk (stat
// reports the Kind of a host path, without following a final symlink). The inode set covers the rest:
//
//   - a pattern whose Base is missing gets its Base as a prefix, so its creation and what is put in it
//     are seen by path until a rescan tracks them;
//   - a literal pattern that is not a directory (a file such as /etc/shadow) gets itself as a prefix:
//     tools replace such files by renaming a new inode over them, which the inode set cannot foresee;
//   - a Base that is an existing directory needs none: its inode is tracked, new files in it are seen
//     through their parent, and new directories in it join the tracked set in the kernel.
//
// Prefixes below another prefix are left out (the kernel matches whole subtrees). The result is sorted.
func (s *Set) Plan(stat func(hostPath string) Kind) []string {
	var out []string
	for _, p := range s.pats {
		switch k := stat(p.Base()); {
		case k == Missing:
			out = append(out, p.Base())
		case p.Literal() && k != Dir:
			out = append(out, p.Base())
		}
	}
	return outermost(out)
}
