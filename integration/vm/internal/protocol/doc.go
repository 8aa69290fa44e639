// Package protocol owns the contract between the VM harness (package vm, on the host) and its init program
// (package main in integration/vm/init, PID 1 inside the guest): the configuration file baked into the
// initramfs and the marked lines init writes to its output channel. It holds only plain values and
// pure functions, safe for concurrent use.
package protocol
