// Package snapcodec owns the primitive values of the resolver's snapshots and the rules every snapshot
// reader follows: the msgpack encoding of numbers, flags, names and counts, a header of a magic and a
// version (or a range of versions, for a reader that still reads older layouts, and embedded values
// told the version to read), a bound on every length read (given by the caller, so that a corrupt or
// hostile snapshot cannot make a reader allocate more than the value it expects can hold), the first
// error sticking so that writing and reading read as lists, nothing trailing, and every read error
// wrapping ErrBadSnapshot.
//
// What the snapshots hold is not its business: package projection lays out its indexes and process
// tables on top of it, and package pipeline the partition snapshots that embed them.
//
// An Encoder or a Decoder is not safe for concurrent use; each is owned by one goroutine.
package snapcodec
