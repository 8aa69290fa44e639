// Package pipeline is the resolver: it turns the raw stream into what users read. It owns the
// projections rebuilt from the stream (the inode→path Index of each host's filesystem, later the
// process table), their snapshots, and the enriched output.
//
// # The index
//
// An Index is the dentry graph of one filesystem of one host: a node per inode, an edge per name (one
// per hard link) to the parent directory, host paths computed by walking edges up to a scan root. Roots
// come from scan entries flagged schemas.FlagScanRoot (or a scan_begin with an inode and a path); every
// other node gets its path from its parent, so renaming a directory re-paths its subtree by changing one
// edge. Index.Apply returns, for each file event, the host paths the enricher needs (Change): empty when
// the side it describes is not under a tracked node, which is never an error.
//
// The index learns only from the stream: a scan epoch replaces the view at scan_end; mkdir, creation,
// symlink and link add a name when the parent is known; unlink, rmdir and a rename out of the tree
// remove names, and a node left without a name goes with everything below it; a rename into the tree
// adds the moved node (not what it contains, which the sensor has to rescan).
//
// Directory paths are cached; renaming a cached directory marks it and the cached directories below it
// stale (see path.go for why that is enough). Memory is kept flat: 16-byte nodes, 24-byte edges, names
// in one arena, an open-addressing inode table, an extra record only for directories; about 100 bytes an
// inode.
//
// # Determinism
//
// Everything here is a pure function of the ordered raw events: the same stream gives the same state and
// the same output, byte for byte, whatever the memory layout. No output depends on map order or on
// where a node sits in memory (a file with several names reports them in (parent inode, name) order),
// and snapshots are canonical, so a snapshot plus the tail of the stream equals a full replay. The
// package imports neither the sensor nor the kernel bindings and runs anywhere without privileges.
//
// Index and Indexes are not safe for concurrent use: a resolver worker owns a partition and applies its
// events from one goroutine.
package pipeline
