// Package schemas owns the data on the wire: the raw events a sensor publishes, the enriched FILE_ACTIVITY
// events a resolver publishes, their msgpack and JSON encodings and versions, and the names of streams,
// buckets and subjects. It is the one place a consumer reads to understand the data; README.md describes
// the raw format for consumers in other languages.
//
// Raw events travel in a Batch, encoded by EncodeBatch as a msgpack array whose events are arrays laid
// out per Kind. DecodeBatch never panics on bad input: it returns a *DecodeError wrapping
// ErrUnknownVersion, ErrUnknownKind or ErrMalformed.
//
// It owns the whole wire, so no other package formats or parses any of it (TestWireOnlyInSchemas
// checks): the batch envelope (AppendBatchEnvelope, for a sensor that encodes events as they come with
// AppendEvent), message ids (MsgID, MsgIDPrefix, ParseMsgID), every subject with its parser
// (IngestSubject and ParseIngestSubject, ParseRawSubject, ActivitySubject and ParseActivitySubject,
// ControlSubject and ParseControlSubject, CheckpointSubject and ParseCheckpointSubject), the subject
// filters of each stream (RawHostFilter, IngestHostFilter, ControlHostFilter, ActivityHostFilter,
// RawPartitionFilter, RawFilter, CheckpointFilter, ControlFilter, ActivityStreamSubjects) and the
// control verbs with their requests (VerbRescan, VerbStatus, RescanRequest).
//
// Enriched events (Activity) travel in an ActivityBatch (EncodeActivityBatch, DecodeActivityBatch), and
// have a stable JSON form, one object per line (AppendActivityJSON); README.md documents both.
//
// Its types are plain values; encoders and decoders hold no shared state and are safe for concurrent use
// on distinct values. A Batch being decoded into must not be used by another goroutine.
package schemas
