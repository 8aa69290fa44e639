// Package settings owns how factstream's commands are configured: a table of keys, each read from a YAML
// file (--config, or FACTSTREAM_CONFIG), then a FACTSTREAM_* variable, then a flag, each overriding the
// one before. The sensor and the NATS clients (resolver, tail, status, replay, history) each keep their
// own table of Setting entries bound to their own configuration struct; this package layers them and
// words the errors the same way for all. Its types are not safe for concurrent use.
package settings
