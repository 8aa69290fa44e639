// Package sample is the harness's own test subject: the self-test in package vm runs its tests inside a VM
// and checks that a pass, a skip and a failure each come back as such. It has no code besides its tests;
// TestFails fails only when FACTSTREAM_SAMPLE_FAIL=1, and TestCrash panics the guest kernel only when
// FACTSTREAM_SAMPLE_CRASH=1, so that a plain `go test ./...` passes.
package sample
