// Package pipeline is the resolver: it turns the raw stream into what users read. It owns the
// projections rebuilt from the stream (the inode→path Index of each host's filesystem, later the
// process table), their snapshots, and the enriched output.
//
// Everything here is a pure function of the ordered raw events: the same stream gives the same state and
// the same output, byte for byte, so a snapshot plus the tail of the stream equals a full replay. The
// package imports neither the sensor nor the kernel bindings and runs anywhere without privileges.
//
// An Index is not safe for concurrent use: a resolver worker owns a partition and applies its events
// from one goroutine.
package pipeline
