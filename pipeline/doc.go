// Package pipeline is the resolver: it turns the raw stream into what users read. It owns the
// projections rebuilt from FACT_RAW (the inode→path Index of each host's filesystem, the ProcTable of
// each host), the enricher that joins them into FILE_ACTIVITY events (Enrich, Patterns), the Resolver
// that runs them over leased partitions and publishes to FACT_ACTIVITY exactly once, their snapshots in
// FACT_SNAPSHOTS, and forensic replay (Rebuild, History). Partition leases live in the subpackage lease;
// the projections themselves, and their snapshot encoding, in the subpackage projection, which knows
// nothing of NATS (pipeline's Index, ProcTable and their kin are aliases of its types).
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
// # Host views, and process events on another partition
//
// FACT_RAW is partitioned by (host, dev), and a sensor sends process events (exec, fork, exit) on dev 0,
// so they are stored in partition(host, 0), usually not the partition of the host's files. A partition
// therefore reads by host, not by partition: it lists the hosts that have a filesystem in it
// (schemas.RawPartitionFilter), and for each runs a hostView fed by an ordered consumer on
// fact.raw.*.<host>.> — every message of that host, in stream order. The view applies the events of its
// partition's filesystems to their indexes, every process event to the host's process table, and follows
// the host's whole batch sequence, so a hole in it is a real loss (a partition seeing only its subjects
// could not tell). The cost: a host whose filesystems fall in k partitions is read k times.
//
// A file message can be stored before the process message that names its process (they are different
// subjects, flushed separately). A view holds file messages until the host's process subject has passed
// their sequence, or stream time (FACT_RAW timestamps) has moved Lateness past them, or too much is held;
// when the stream is quiet the wall clock stands in for stream time, which releases the same events a
// replay would. The process table keeps, per process, the images it ran with the sequence each began at,
// and evicts exited processes by sequence, never by wall clock. So what an event is enriched with is a
// function of the stream alone.
//
// # Exactly once
//
// Each item a view releases (a file message, a gap, a dead letter) is numbered. A partition commits its
// output to FACT_ACTIVITY as one atomic batch ending with a checkpoint on fact.ckpt.<partition> that
// carries each host's count and expects the previous checkpoint's sequence; a new owner claims the chain
// first, so a former owner's commits are refused whole (see commit.go). Snapshots are written right after
// a commit; a worker taking a partition loads the snapshot, replays the tail and publishes only the items
// above the checkpoint's counts.
//
// # Determinism
//
// Everything here is a pure function of the ordered raw events: the same stream gives the same state and
// the same output, byte for byte, whatever the memory layout. No output depends on map order or on
// where a node sits in memory (a file with several names reports them in (parent inode, name) order),
// and snapshots are canonical, so a snapshot plus the tail of the stream equals a full replay. The
// package imports neither the sensor nor the kernel bindings and runs anywhere without privileges.
//
// # Concurrency
//
// Index, Indexes, ProcTable and HostState are not safe for concurrent use: a partition applies its events
// from one goroutine. Patterns are immutable and safe to share. A Resolver runs its own goroutines (a
// lease manager, one loop per partition, one reader per host); New, Run and Close may be called from
// different goroutines.
package pipeline
