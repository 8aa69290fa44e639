package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/factstream/factstream/integration/vm/internal/calibrate"
	"github.com/factstream/factstream/integration/vm/internal/protocol"
)

// Defaults of Options. One vCPU: loading and unloading BPF programs patches kernel text live (jump labels
// of the system-call tracepoints, BPF trampolines), with an int3 at the patched site while it changes;
// under QEMU's TCG a second vCPU can go on running the stale translated code and die on that int3
// ("Oops: int3" in syscall_exit_to_user_mode_prepare, seen on 6.12). One vCPU has no other CPU to race
// with, and VMs run side by side use the host's cores instead.
//
// A VM has two limits. TestBudget is how long one top-level test (or the boot before the first) may run
// in host time, stretched by the guest's time scale (see package testtime): the watchdog that catches a
// hang. Timeout caps the whole VM, and Run lowers it to fit the test binary's own deadline.
const (
	DefaultMemoryMiB  = 1024
	DefaultCPUs       = 1
	DefaultTestBudget = 5 * time.Minute
	DefaultTimeout    = 45 * time.Minute
)

const (
	qemuBinary = "qemu-system-x86_64"
	// baseCmdline: the console on the first serial port, quiet, and a panic reboots at once, which
	// -no-reboot turns into QEMU exiting.
	baseCmdline = "console=ttyS0 quiet panic=-1"
	// consoleLines is how much of the kernel console a Result keeps, qemuLines of QEMU's own messages,
	// outputLines of the program's output for a report.
	consoleLines = 200
	qemuLines    = 20
	outputLines  = 300
	// killGrace is how long QEMU gets to exit after SIGTERM before it is killed.
	killGrace = 5 * time.Second
)

// Errors of Boot.
var (
	// ErrNoExit: the VM stopped (kernel panic, init crash, timeout) without reporting the program's exit.
	ErrNoExit = errors.New("the VM stopped without reporting the program's exit code")
	// ErrInit: init could not run the program (bad config, module load, exec).
	ErrInit = errors.New("init could not run the program")
)

// Options say what to run in the VM and how big the VM is.
type Options struct {
	// Binary is the host path of the program to run, e.g. from BuildTestBinary.
	Binary string
	// Args are its arguments, e.g. "-test.v", "-test.run=TestX"; -test.v is what Run's report needs.
	Args []string
	// Env is its environment, e.g. "FACTSTREAM_REQUIRE_LSM=1".
	Env []string
	// MemoryMiB defaults to DefaultMemoryMiB, CPUs to DefaultCPUs, TestBudget to DefaultTestBudget,
	// Timeout to DefaultTimeout.
	MemoryMiB  int
	CPUs       int
	TestBudget time.Duration
	Timeout    time.Duration
	// Files are extra files for the initramfs: guest path → host path.
	Files map[string]string
	// Modules are kernel modules (e.g. "overlay", "loop") loaded, with their dependencies, before the
	// program starts.
	Modules []string
	// Cmdline is appended to the kernel command line.
	Cmdline string
	// Stream, if set, receives the program's output as it arrives.
	Stream io.Writer
	// Progress, if set, hears of each top-level test of the program as it ends.
	Progress func(TestResult)
}

func (o Options) withDefaults() Options {
	if o.MemoryMiB == 0 {
		o.MemoryMiB = DefaultMemoryMiB
	}
	if o.CPUs == 0 {
		o.CPUs = DefaultCPUs
	}
	if o.TestBudget == 0 {
		o.TestBudget = DefaultTestBudget
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Result is what one VM run gave.
type Result struct {
	Kernel Kernel
	// Tests are the top-level tests, in the order they started.
	Tests []TestResult
	// Other is program output outside any test: the final PASS/FAIL, a panic before the first test.
	Other []string
	// InitLog holds init's diagnostics (mounts it skipped, modules it loaded, errors).
	InitLog []string
	// Exited tells whether init reported the program's exit; ExitCode is that code (-1: a signal).
	Exited   bool
	ExitCode int
	// Boot is the time from starting QEMU to init's first line, Total from starting QEMU to its exit.
	Boot  time.Duration
	Total time.Duration
	// Scale is how many times slower than the host the guest ran (init's calibration; 0: not reported).
	Scale float64
	// Running is the top-level test that had started and not ended when the VM stopped, if any.
	Running string
	// Output is the end of the program's output, up to outputLines lines.
	Output []string
	// Console is the end of the kernel console, QEMU the end of QEMU's own messages.
	Console []string
	QEMU    []string
}

// Failed tells whether anything in the run failed: a test, the program's exit code or the VM.
func (r Result) Failed() bool {
	if !r.Exited || r.ExitCode != 0 {
		return true
	}
	for _, t := range r.Tests {
		if t.Status == StatusFail || t.Status == StatusUnfinished {
			return true
		}
	}
	return false
}

// Boot runs opts.Binary as the only program of a VM with kernel k and returns its parsed results. The
// error is about the harness or the VM (ErrNoExit, ErrInit, a build or QEMU failure), never about a test
// failing: that is in the Result.
func Boot(ctx context.Context, k Kernel, opts Options) (Result, error) {
	opts = opts.withDefaults()
	res := Result{Kernel: k}
	if opts.Binary == "" {
		return res, errors.New("booting: no binary in options")
	}
	if err := ensureQEMU(ctx); err != nil {
		return res, err
	}
	work, err := os.MkdirTemp("", "factstream-vm-*")
	if err != nil {
		return res, fmt.Errorf("creating work directory: %w", err)
	}
	defer os.RemoveAll(work)
	initrd, err := prepareImage(ctx, k, opts, work)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	return runQEMU(ctx, k, opts, initrd, res)
}

// prepareImage builds init, resolves the modules and writes the initramfs into work.
func prepareImage(ctx context.Context, k Kernel, opts Options, work string) (string, error) {
	initBin, err := buildInit(ctx)
	if err != nil {
		return "", err
	}
	mods, err := prepareModules(ctx, k, opts.Modules, work)
	if err != nil {
		return "", err
	}
	cfg := protocol.Config{Path: guestProgram, Args: opts.Args, Env: opts.Env, HostCalibration: hostCalibration()}
	for _, m := range mods {
		cfg.Modules = append(cfg.Modules, m.guest)
	}
	initrd := filepath.Join(work, "initramfs.cpio")
	img := image{init: initBin, program: opts.Binary, config: cfg, files: opts.Files, modules: mods}
	if err := writeInitramfs(initrd, img); err != nil {
		return "", err
	}
	return initrd, nil
}

// hostCalibration times package calibrate's work on the host once per process.
var hostCalibration = sync.OnceValue(func() time.Duration { return calibrate.Best(5) })

// ensureQEMU installs the project's dependencies when QEMU is missing.
func ensureQEMU(ctx context.Context) error {
	if _, err := exec.LookPath(qemuBinary); err == nil {
		return nil
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if _, err := command(ctx, root, filepath.Join(root, "scripts", "install-deps.sh")); err != nil {
		return fmt.Errorf("installing qemu: %w", err)
	}
	if _, err := exec.LookPath(qemuBinary); err != nil {
		return fmt.Errorf("finding %s after installing it: %w", qemuBinary, err)
	}
	return nil
}

func qemuArgs(k Kernel, opts Options, initrd string) []string {
	cmdline := strings.TrimSpace(baseCmdline + " " + opts.Cmdline)
	return []string{
		"-nodefaults", "-no-user-config", "-display", "none",
		"-accel", "tcg", "-cpu", "max",
		"-m", fmt.Sprint(opts.MemoryMiB), "-smp", fmt.Sprint(opts.CPUs),
		"-kernel", k.Vmlinuz, "-initrd", initrd, "-append", cmdline,
		"-no-reboot",
		// ttyS0: the kernel console, to QEMU's stdout. ttyS1: the program's output, to the pipe the
		// harness passes as fd 3.
		"-serial", "stdio",
		"-chardev", "file,id=out,path=/dev/fd/3", "-serial", "chardev:out",
	}
}
