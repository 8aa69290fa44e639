package main

import (
	"fmt"
	"io"
	"os"

	"github.com/factstream/factstream/sensor"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// newLogger builds the process's logger: JSON, or console when the format says so or is auto and
// stderr is a terminal.
func newLogger(c sensor.LogConfig) (*zap.Logger, error) {
	var level zapcore.Level
	if err := level.Set(c.Level); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	console := c.Format == "console" || (c.Format == "auto" && isTerminal(os.Stderr))
	var cfg zap.Config
	if console {
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	} else {
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	}
	cfg.Level = zap.NewAtomicLevelAt(level)
	cfg.DisableStacktrace = true
	l, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("building logger: %w", err)
	}
	return l, nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// stdoutIsTerminal reports whether w is the process's stdout and a terminal.
func stdoutIsTerminal(w io.Writer) bool {
	return w == io.Writer(os.Stdout) && isTerminal(os.Stdout)
}

// stderrIsTerminal reports whether w is the process's stderr and a terminal.
func stderrIsTerminal(w io.Writer) bool {
	return w == io.Writer(os.Stderr) && isTerminal(os.Stderr)
}
