// Package publish owns the sensor's path into JetStream: provisioning and checking the FACT_RAW stream
// (EnsureRawStream), and the Publisher that moves encoded batches of raw events to fact.in.<host>.<dev>
// without looking inside them.
//
// Guarantees of the Publisher:
//
//   - Order: batches are published in the order Publish accepted them, across memory, spool and
//     restarts. Publishes are asynchronous with at most Config.MaxPending awaiting acknowledgement;
//     after any failure nothing new is sent until the window has resolved, then the failed batches go
//     again, oldest first, one at a time with backoff until one is acknowledged. The connection must not
//     buffer while reconnecting (ConnOptions), or a batch written into that buffer could overtake one
//     being retried. A reorder remains possible only if the server rejects a batch and accepts a later
//     one in the same window (a stream leader change in a cluster).
//   - Exactly once: every batch carries its Nats-Msg-Id; retries reuse it and the server drops copies
//     within the stream's duplicate window. A batch whose acknowledgement was lost and that is retried
//     after the window (a long outage) may be stored twice: at least once, never lost.
//   - Nothing dropped silently: while NATS is away or slow, batches wait in memory up to
//     Config.MemoryBytes, then in the spool up to Config.SpoolBytes; beyond that they are dropped,
//     counted (metrics) and reported per filesystem (Msg.Dev) and reason, with their event counts and
//     sequence ranges, to Config.OnLoss once NATS acknowledges again. A report not yet handed over is saved in the spool directory (every tick
//     and at Close) and handed over after a restart.
//   - Restart: Close spools what is unacknowledged; New republishes the spool first, with the original
//     message ids, before anything published after it. A killed process loses what waited in memory
//     (at most Config.MemoryBytes, plus the batches in flight), which shows as a gap in the sensor's
//     sequence numbers; with Config.MemoryBytes < 0 (write-ahead) every batch is in the spool before
//     Publish returns and a kill loses nothing accepted.
//
// Spool format and fsync policy: see spool.go and record.go. In short, append-only segment files of
// CRC-32C-checked records, one write per record, fsynced every Config.SyncInterval (default 1s, or
// after every record when negative), when a segment is sealed and at Close; a torn or corrupt tail is
// truncated on open and reported in the LossReport as a SpoolCorruption. Spool writes and fsyncs happen
// under the publisher's lock, so while spooling a Publish may wait for a disk write.
//
// An unreachable server (the first connect or later): with ConnOptions the connection keeps trying in
// the background; the Publisher keeps accepting batches, spools them, retries with backoff up to
// Config.MaxBackoff and logs a rate-limited warning naming the error, the connection status and the
// backlog. Nothing fails until the spool is full, and then only by drops that are reported.
//
// A Publisher is safe for concurrent use: Publish may be called from any goroutine; Close once. Its
// work runs on one goroutine of its own. EnsureRawStream holds no state.
package publish
