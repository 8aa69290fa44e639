// Package sensor is the node agent: it seeds the kernel's tracked set with a scan of the monitored
// paths, drains the probes' ring buffer, turns kernel records into raw events with the sensor's own
// sequence, batches them per filesystem and hands the batches to a publish.Publisher for FACT_RAW. It
// also answers control requests (rescan, status), reloads its paths on demand, exposes metrics and
// health, and accounts for every record it or the kernel could not deliver with a loss event.
//
// The probes are behind two small interfaces, EventSource (the ring buffer) and Kernel (the tracked set,
// the path prefixes and the counters), both satisfied by *bpf.Probes, so tests inject synthetic events.
//
// Configuration: Config with its parts, loaded by Load from defaults, a YAML file, FACTSTREAM_*
// variables and flags (in that order of precedence, lowest first) and checked by Validate.
//
// Concurrency: a Sensor runs its own goroutines (one draining the ring buffer, one polling kernel
// counters, the scan's workers, the control handlers); its exported methods are safe for concurrent
// use. Config is a plain value.
package sensor
