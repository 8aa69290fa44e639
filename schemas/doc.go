// Package schemas owns the data on the wire: the raw events a sensor publishes, the enriched FILE_ACTIVITY
// events a resolver publishes, their msgpack and JSON encodings and versions, and the names of streams,
// buckets and subjects. It is the one place a consumer reads to understand the data. Its types are plain
// values; encoders and decoders hold no shared state and are safe for concurrent use.
package schemas
