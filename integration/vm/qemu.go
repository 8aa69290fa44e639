package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/factstream/factstream/integration/vm/internal/protocol"
)

// channel is what came over the output port, parsed as it arrives.
type channel struct {
	tests   *testParser
	output  *lineRing
	stream  io.Writer
	watch   *watchdog
	start   time.Time
	initLog []string
	initErr []string
	exited  bool
	code    int
	boot    time.Duration
	scale   float64
}

func newChannel(opts Options, watch *watchdog, start time.Time) *channel {
	ch := &channel{tests: newTestParser(), output: newLineRing(outputLines), stream: opts.Stream, watch: watch, start: start}
	ch.tests.onStart = watch.enter
	ch.tests.onDone = func(tr TestResult) {
		watch.enter("the time after " + tr.Name)
		if opts.Progress != nil {
			opts.Progress(tr)
		}
	}
	return ch
}

// runQEMU boots the VM, collects both serial ports until QEMU exits and fills res.
func runQEMU(ctx context.Context, k Kernel, opts Options, initrd string, res Result) (Result, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return res, fmt.Errorf("creating output pipe: %w", err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	console, qemuErr := newLineRing(consoleLines), newLineRing(qemuLines)
	cmd := exec.CommandContext(ctx, qemuBinary, qemuArgs(k, opts, initrd)...)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = console, qemuErr, []*os.File{w}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = killGrace
	start := time.Now()
	err = cmd.Start()
	w.Close()
	if err != nil {
		return res, fmt.Errorf("starting %s: %w", qemuBinary, err)
	}
	watch := newWatchdog(opts.TestBudget)
	go watch.run(ctx, cancel)
	ch := newChannel(opts, watch, start)
	done := make(chan struct{})
	go func() { ch.read(r); close(done) }()
	waitErr := cmd.Wait()
	<-done
	res.Total = time.Since(start)
	res.Console, res.QEMU = console.Lines(), qemuErr.Lines()
	return ch.fill(res), vmError(ctx, k, opts, ch, waitErr)
}

// read reads the output port until QEMU closes it.
func (ch *channel) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			ch.add(strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

func (ch *channel) add(line string) {
	kind, payload, ok := protocol.Parse(line)
	if !ok {
		ch.tests.line(line)
		_, _ = io.WriteString(ch.output, line+"\n")
		if ch.stream != nil {
			_, _ = io.WriteString(ch.stream, line+"\n")
		}
		return
	}
	switch kind {
	case protocol.KindStart:
		ch.boot = time.Since(ch.start)
	case protocol.KindScale:
		scale, err := protocol.ParseScale(payload)
		if err != nil {
			ch.initErr = append(ch.initErr, err.Error())
			return
		}
		ch.scale = scale
		ch.watch.setScale(scale)
		ch.initLog = append(ch.initLog, "time scale "+payload)
	case protocol.KindLog:
		ch.initLog = append(ch.initLog, payload)
	case protocol.KindError:
		ch.initLog = append(ch.initLog, "error: "+payload)
		ch.initErr = append(ch.initErr, payload)
	case protocol.KindExit:
		code, err := protocol.ParseExit(payload)
		if err != nil {
			ch.initErr = append(ch.initErr, err.Error())
			return
		}
		ch.exited, ch.code = true, code
	}
}

func (ch *channel) fill(res Result) Result {
	res.Tests, res.Other = ch.tests.results()
	for _, tr := range res.Tests {
		if tr.Status == StatusUnfinished {
			res.Running = tr.Name
		}
	}
	res.Output = ch.output.Lines()
	res.InitLog = ch.initLog
	res.Exited, res.ExitCode = ch.exited, ch.code
	res.Boot, res.Scale = ch.boot, ch.scale
	return res
}

// vmError explains a run that did not end with the program's exit code.
func vmError(ctx context.Context, k Kernel, opts Options, ch *channel, waitErr error) error {
	if len(ch.initErr) > 0 {
		return fmt.Errorf("booting %s: %w: %s", k.Release, ErrInit, strings.Join(ch.initErr, "; "))
	}
	if ch.exited {
		return nil
	}
	why := "QEMU exited"
	switch {
	case errors.Is(context.Cause(ctx), ErrHung):
		return fmt.Errorf("booting %s: %w (%w)", k.Release, ErrNoExit, context.Cause(ctx))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		why = fmt.Sprintf("timed out after %v", opts.Timeout)
	case ctx.Err() != nil:
		why = ctx.Err().Error()
	case waitErr != nil:
		why = "QEMU: " + waitErr.Error()
	case ch.boot == 0:
		why = "init never started"
	}
	return fmt.Errorf("booting %s: %w (%s)", k.Release, ErrNoExit, why)
}
