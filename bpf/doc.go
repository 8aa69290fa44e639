// Package bpf owns the kernel side of factstream: the BPF C programs (lsm.c and the headers in include/),
// their generated bindings (bpf2go, committed), and Probes, the one way the rest of the code touches them:
// load with options, read typed events, add and remove tracked inodes and path prefixes, read counters, close.
//
// A Probes is safe for concurrent use by one reader goroutine (ReadInto) and any number of goroutines
// changing the tracked set, the prefixes or reading counters.
package bpf
