// Package eventtest makes raw events as a sensor would send them, for the tests and benchmarks of the
// resolver's packages (pipeline and pipeline/projection), so that both feed their projections the same
// events: file, scan, content and process events one at a time, and a synthetic filesystem of any size
// with a workload over it that leaves it as it found it. Unhex reads the pinned bytes of their golden
// snapshots.
//
// Only tests import it. It holds no state: every function returns new events.
package eventtest
