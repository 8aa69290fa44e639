// Package projection holds the pure projections of the raw stream, rebuilt from events alone: the
// inode→path index of each filesystem (its dentry graph, name arena and path cache), the process table of
// each host, the scan epochs that refresh an index, and the canonical snapshot encoding of all of them. It
// imports no NATS: reading the stream and storing snapshots belong to package pipeline, which feeds
// events in and writes the bytes out.
//
// Its types are not safe for concurrent use; each is owned by one goroutine.
package projection
