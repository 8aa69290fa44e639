// Package scan owns the walk of the monitored paths: starting at each root of a glob.Set, it lists
// directories with getdents(2), stats only the entries it reports or descends into (fstatat(2) relative
// to the open directory, without following symlinks), prunes directories no pattern can reach, and
// hands the entries to a sink in chunks. Several workers walk in parallel.
//
// What it reports: every entry whose inode belongs in the kernel's tracked set (glob.Cursor.Tracked):
// matched files and directories, and directories in which matches could appear. A root (the base of a
// pattern not inside another reported directory, or the top of a filesystem mounted inside the tree)
// carries its host path. A directory's entry always reaches the sink before the entries inside it.
// Hard links are reported once per name; symlinks are reported, never followed; names are bytes.
// Pseudo filesystems (proc, sysfs, cgroup, debugfs, tracefs, bpf...) are not entered.
//
// Host root: when the sensor runs in a container with the host's root mounted at HostRoot, the walk
// reads HostRoot+path and reports host paths.
//
// Walk is safe to call concurrently; a sink is called from several goroutines, one call at a time per
// goroutine, and must serialize itself. Entry slices and names are valid only during the sink call.
package scan
