// Package seqstore owns the sensor's durable counters: the event sequence, the batch sequence (the
// Nats-Msg-Id of each batch) and the scan epoch. Numbers are unique per host and boot: a restarted
// sensor, even one killed with SIGKILL or by a power failure, never hands out a number again.
//
// How: the store keeps, per counter, a high-water mark on disk and hands out numbers only below it. When
// a counter reaches its mark, a new mark one block further is written and fsynced before any number
// above the old mark is used. After a crash the next run starts at the marks, so it skips at most one
// block per counter and reuses nothing. The file holds two slots, written alternately, each with a
// generation and a CRC-32C: a write torn by a crash damages only the slot being written, and the other
// still holds a mark at least as high as any number handed out. A different boot id starts every
// counter again at 1.
//
// A Store is safe for concurrent use.
package seqstore
