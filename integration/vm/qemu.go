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

// channel is what came over the output port.
type channel struct {
	program []string
	initLog []string
	initErr []string
	exited  bool
	code    int
	boot    time.Duration
}

// runQEMU boots the VM, collects both serial ports until QEMU exits and fills res.
func runQEMU(ctx context.Context, k Kernel, opts Options, initrd string, res Result) (Result, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return res, fmt.Errorf("creating output pipe: %w", err)
	}
	defer r.Close()
	console := newLineRing(consoleLines)
	cmd := exec.CommandContext(ctx, qemuBinary, qemuArgs(k, opts, initrd)...)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = console, console, []*os.File{w}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = killGrace
	start := time.Now()
	err = cmd.Start()
	w.Close()
	if err != nil {
		return res, fmt.Errorf("starting %s: %w", qemuBinary, err)
	}
	done := make(chan channel, 1)
	go func() { done <- readChannel(r, start, opts.Stream) }()
	waitErr := cmd.Wait()
	ch := <-done
	res.Total = time.Since(start)
	res.Console = console.Lines()
	return fill(res, ch), vmError(ctx, k, opts, ch, waitErr)
}

// readChannel reads the output port until QEMU closes it.
func readChannel(r io.Reader, start time.Time, stream io.Writer) channel {
	var ch channel
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			ch.add(strings.TrimRight(line, "\r\n"), start, stream)
		}
		if err != nil {
			return ch
		}
	}
}

func (ch *channel) add(line string, start time.Time, stream io.Writer) {
	kind, payload, ok := protocol.Parse(line)
	if !ok {
		ch.program = append(ch.program, line)
		if stream != nil {
			_, _ = io.WriteString(stream, line+"\n")
		}
		return
	}
	switch kind {
	case protocol.KindStart:
		ch.boot = time.Since(start)
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

func fill(res Result, ch channel) Result {
	res.Tests, res.Other = parseTestOutput(ch.program)
	res.InitLog = ch.initLog
	res.Exited, res.ExitCode = ch.exited, ch.code
	res.Boot = ch.boot
	return res
}

// vmError explains a run that did not end with the program's exit code.
func vmError(ctx context.Context, k Kernel, opts Options, ch channel, waitErr error) error {
	if len(ch.initErr) > 0 {
		return fmt.Errorf("booting %s: %w: %s", k.Release, ErrInit, strings.Join(ch.initErr, "; "))
	}
	if ch.exited {
		return nil
	}
	why := "QEMU exited"
	switch {
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
