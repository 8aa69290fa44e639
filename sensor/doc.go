// Package sensor is the node agent: it seeds the kernel's tracked set with a scan of the monitored
// paths, drains the probes' ring buffer, turns kernel records into raw events with the sensor's own
// sequence, batches them per filesystem and hands the batches to a publish.Publisher for FACT_RAW. It
// also answers control requests (rescan, status, verify), reloads its paths on demand, exposes metrics and
// health, and accounts for every record it or the kernel could not deliver with a loss event.
//
// # Parts
//
//   - The probes are behind two small interfaces, EventSource (the ring buffer) and Kernel (the tracked
//     set, the path prefixes, the counters), both satisfied by *bpf.Probes, so tests inject synthetic
//     records.
//   - Patterns: package glob at the top level (matching, the kernel prefix plan; glob.Set.Match is
//     the rule the resolver and the client apply too). The walk: sensor/scan. Durable counters:
//     sensor/seqstore. The accounting of kernel records (sequence holes, ring-full counters, what is
//     delivered, the restart check) and the checkpoint: sensor/accounting.
//   - Configuration: Config and its parts, loaded by Load from defaults, a YAML file, FACTSTREAM_*
//     variables and flags (each overriding the one before) and checked by Validate.
//
// # What goes out
//
// Every raw event carries the sensor's sequence, unique per host and boot across restarts and crashes
// (seqstore). Events go to fact.in.<host>.<dev> in batches of at most Batch.MaxEvents events and
// Batch.MaxBytes bytes, waiting at most Batch.MaxDelay; process events (exec, fork, exit) go to dev 0.
// A batch's message id is host:boot:batch_seq, the batch sequence as durable as the event sequence, so
// JetStream drops only real copies.
//
// Scans are epochs per filesystem: scan_begin (the first root met on it), scan_entry for each tracked
// entry (a directory before its contents, roots flagged with their host path), scan_end. Because a
// resolver replaces its view of (host, dev) at scan_end, an epoch always covers all monitored paths of
// the filesystem; a rescan of a subtree rescans its filesystem. Schemas version 1 has no count on
// scan_end. After each epoch its regular files are hashed in the background, readiness not waiting
// (baseline.go): content events with probe scan, which the resolver compares with what it knows. A
// verification (verify.go: every verify_interval, or the verify control verb) is an epoch run for that.
//
// # Losses
//
// Nothing is dropped silently; each path that discards something counts it in
// factstream_sensor_dropped_total or factstream_sensor_lost_records_total and, where there is something
// to say, publishes a loss event:
//
//   - records the kernel could not write (ring buffer full) leave holes in its record sequence and raise
//     the hook's ringbuffer_full counter; the two are reconciled so that each lost record is reported
//     once, with its hook where a counter explains it, else as ring_sequence. The filesystem of a lost
//     record is unknown, so the loss event goes to every filesystem the sensor published on and to dev
//     0, with the same count: consumers must not add counts up across subjects;
//   - records that do not decode (malformed) or of an unknown kind;
//   - batches the publisher dropped (spool full, spool error, rejected), on their own filesystem (the
//     publisher reports drops by publish.Msg.Dev), once NATS acknowledges again; spool bytes that could
//     not be read back (spool_corrupt, count unknown: 0), on every filesystem as for a kernel loss;
//   - after a restart with probes that kept recording (pinned), the records the previous run read from the
//     kernel and never delivered, as restart, exactly. Each batch names the kernel records it accounts
//     for (schemas.KernelSeqsHeader); the checkpoint holds the highest kernel sequence up to which every
//     record is acknowledged by JetStream or reported lost there, and the time from which later batches
//     were stored. The next run holds the holes it finds until it has read back what the previous run
//     spooled and stored after that time (sensor/accounting's restart check), and reports the holes less those.
//
// # Concurrency
//
// A Sensor runs its own goroutines (one draining the ring buffer, one polling kernel counters, one
// rescanning bases that appear, the scan's workers, the control handlers); its exported methods are
// safe for concurrent use. Config is a plain value.
package sensor
