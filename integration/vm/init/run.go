package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"syscall"

	"github.com/factstream/factstream/integration/vm/internal/protocol"
)

// outputGrace is how long init keeps copying output after the program exits, for children that still
// hold its stdout.
const outputGrace = 3 * time.Second

// defaultEnv fills what the configuration leaves out.
func defaultEnv() []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin:/", "HOME=/root", "TMPDIR=/tmp", "TERM=dumb"}
}

func loadModules(out io.Writer, modules []string) error {
	for _, path := range modules {
		if err := loadModule(path); err != nil {
			return err
		}
		fmt.Fprint(out, protocol.Line(protocol.KindLog, "loaded module "+filepath.Base(path)))
	}
	return nil
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening module: %w", err)
	}
	defer f.Close()
	err = finitModule(int(f.Fd()))
	if err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("loading module %s: %w", path, err)
	}
	return nil
}

// runProgram runs the configured program with stdout and stderr on out and returns its exit code. The
// output goes through a pipe so init knows whether it ended in a newline: the exit line must start one.
func runProgram(out io.Writer, cfg protocol.Config) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return exitInitFailed, fmt.Errorf("creating output pipe: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env = withDefaults(cfg.Env)
	cmd.Dir = cfg.Dir
	if cmd.Dir == "" {
		cmd.Dir = "/tmp"
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close()
	if err != nil {
		return exitInitFailed, fmt.Errorf("starting %s: %w", cfg.Path, err)
	}
	copied := make(chan bool, 1)
	go func() { copied <- copyTracking(out, r) }()
	waitErr := cmd.Wait()
	endsInNewline := awaitCopy(copied)
	if !endsInNewline {
		fmt.Fprint(out, "\n")
	}
	return exitCode(cmd, waitErr)
}

// copyTracking copies r to out and tells whether the last byte was a newline (true for no output).
func copyTracking(out io.Writer, r io.Reader) bool {
	buf := make([]byte, 32<<10)
	last := byte('\n')
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_, _ = out.Write(buf[:n])
			last = buf[n-1]
		}
		if err != nil {
			return last == '\n'
		}
	}
}

func awaitCopy(copied <-chan bool) bool {
	select {
	case nl := <-copied:
		return nl
	case <-time.After(outputGrace):
		return false
	}
}

func exitCode(cmd *exec.Cmd, waitErr error) (int, error) {
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return exitInitFailed, fmt.Errorf("waiting for %s: %w", cmd.Path, waitErr)
	}
	return cmd.ProcessState.ExitCode(), nil
}

func withDefaults(env []string) []string {
	merged := append([]string(nil), env...)
	for _, kv := range defaultEnv() {
		key, _, _ := strings.Cut(kv, "=")
		if !hasKey(env, key) {
			merged = append(merged, kv)
		}
	}
	return merged
}

func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}
