// Package accounting owns the accounting of the kernel's records, from the ring buffer to durable
// delivery or a reported loss, and the checkpoint that survives a restart.
//
// The kernel numbers every record it means to write to the ring buffer. A Ledger follows that sequence:
// holes in it are records the kernel could not write (reconciled with the probes' per-hook
// ringbuffer_full counters, so each is reported once, with its hook where a counter explains it) or that
// did not decode; the batches that carry records, and the loss events that report them, tell it which
// records are accounted for, and once JetStream acknowledges them they are durable. The highest kernel
// sequence at and below which every record is durable, with the time from which later batches may have
// been stored, is the Checkpoint, saved in the state directory. After a restart with probes that kept
// recording (pinned), the next run continues from it: a restart check holds the holes it finds until it
// knows what the previous run delivered after the checkpoint (what the sensor reads back from its spool
// and from the stream, handed in with CoverFrom), then reports the holes less that, as restart losses.
//
// The package knows nothing of NATS: batches are named by message id and their kernel records by the
// schemas.KernelSeqsHeader value. Ledger's concurrency is documented on the type; a Checkpoint is a
// plain value.
package accounting
