// Package logsample owns how factstream keeps a log line that could repeat per event or per batch (NATS
// away, a full spool, a bad ring-buffer record) from flooding the log: zap's sampler lets the first line
// of each message and level through, drops the others until an interval has passed since that one, and
// its hook counts every line it dropped, in a Prometheus counter and for the next line that gets
// through. Only the call sites given a Logger are sampled; the rest of a component's log is not.
//
// A Logger is safe for concurrent use.
package logsample
