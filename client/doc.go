// Package client reads enriched FILE_ACTIVITY events from stream FACT_ACTIVITY for Go consumers: it owns
// the selection of events (Filter: hosts and types become consumer subjects, path globs are matched
// here), where reading starts (Start: new events, all, a time, a stream sequence), and the delivery of
// a resolver's commits (Subscribe).
//
// A resolver publishes one message per host and type and ends each commit with a checkpoint message on
// fact.ckpt.<partition>. Subscribe holds a commit's events until its checkpoint, or until FlushAfter
// passes without one, and hands them to the handler as one Batch in time order, so that `mkdir x; touch
// x/f` arrives mkdir first although the two travel in different messages. Every Event carries the
// FACT_ACTIVITY sequence of the message it came from, and every Batch the last sequence it covers: store
// Batch.Seq once the batch is handled and start again with ResumeAfter(seq) to get exactly what follows.
//
// Subscribe reads through a JetStream ordered consumer (github.com/nats-io/nats.go/jetstream), which
// recreates itself after a server or connection failure without gaps or duplicates.
//
// Filter, Start, Event and Batch are plain values, safe for concurrent use once built. Subscribe may run
// in several goroutines at once, each with its own consumer; it calls its handler and Options' callbacks
// from the goroutine that called it, one at a time.
package client
