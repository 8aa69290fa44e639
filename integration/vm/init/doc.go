// Command init is PID 1 inside the harness's test VMs (see package vm). It mounts the pseudo file systems a
// probe test needs, loads the kernel modules its configuration lists, runs the one program the
// configuration names with stdout and stderr on the second serial port, reports the exit code there in a
// marked line (package protocol) and powers the machine off. Build it static: CGO_ENABLED=0.
package main
