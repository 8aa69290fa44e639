// Package vm owns the harness that runs Go test binaries inside real Debian kernels under QEMU's software
// emulation (TCG) and reports each test's result back into the ordinary `go test` run.
//
// EnsureKernel fetches and caches a Debian cloud kernel of a series ("6.1", "6.12") from apt;
// BuildTestBinary builds a static test binary; Boot runs it as the one program of a VM whose /init is the
// harness's init (integration/vm/init) and returns the parsed per-test results with boot and total times;
// Run does the same inside a test and reports every test of the VM as a subtest. The program's stdout and
// stderr travel on the second serial port, apart from the kernel console on the first.
//
// Environment: FACTSTREAM_CACHE (cache directory, default ~/.cache/factstream/kernels),
// FACTSTREAM_VM_KERNELS (series the VM tests boot, default 6.1,6.12), FACTSTREAM_VM_STREAM=1 (copy the
// program's output to stderr while it runs).
//
// The functions are safe for concurrent use, also across processes: the kernel cache is guarded by a lock
// file and every cache entry is written to a temporary name first and renamed into place.
package vm
