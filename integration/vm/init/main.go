package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/factstream/factstream/integration/vm/internal/calibrate"
	"github.com/factstream/factstream/integration/vm/internal/protocol"
	"github.com/factstream/factstream/internal/testtime"
)

// exitInitFailed is reported when init could not start the program at all.
const exitInitFailed = 125

func main() {
	out := openOutput()
	fmt.Fprint(out, protocol.Line(protocol.KindStart, ""))
	code := runGuarded(out)
	fmt.Fprint(out, protocol.ExitLine(code))
	powerOff(out)
}

// openOutput opens the output channel; if it is missing, init falls back to the console so that the
// harness still sees something.
func openOutput() *os.File {
	f, err := os.OpenFile(protocol.OutputDevice, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		fmt.Fprint(os.Stdout, protocol.Line(protocol.KindError, fmt.Sprintf("opening %s: %v", protocol.OutputDevice, err)))
		return os.Stdout
	}
	if err := makeRaw(int(f.Fd())); err != nil {
		fmt.Fprint(f, protocol.Line(protocol.KindLog, err.Error()))
	}
	return f
}

// makeRaw stops the tty from rewriting the program's bytes (no "\n" to "\r\n", no echo).
func makeRaw(fd int) error {
	var t syscall.Termios
	if err := ioctl(fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t))); err != nil {
		return fmt.Errorf("reading terminal settings: %w", err)
	}
	t.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP | syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON
	t.Oflag &^= syscall.OPOST
	t.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	t.Cflag &^= syscall.CSIZE | syscall.PARENB
	t.Cflag |= syscall.CS8
	if err := ioctl(fd, syscall.TCSETS, uintptr(unsafe.Pointer(&t))); err != nil {
		return fmt.Errorf("setting raw terminal mode: %w", err)
	}
	return nil
}

// runGuarded runs everything init does and turns a panic into a reported error, so that the machine
// still powers off with an exit line.
func runGuarded(out io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprint(out, protocol.Line(protocol.KindError, fmt.Sprintf("init panicked: %v", r)))
			code = exitInitFailed
		}
	}()
	code, err := run(out)
	if err != nil {
		fmt.Fprint(out, protocol.Line(protocol.KindError, err.Error()))
	}
	return code
}

func run(out io.Writer) (int, error) {
	mountAll(out)
	setupSystem(out)
	cfg, err := readConfig(protocol.ConfigPath)
	if err != nil {
		return exitInitFailed, err
	}
	if err := loadModules(out, cfg.Modules); err != nil {
		return exitInitFailed, err
	}
	cfg.Env = calibrated(out, cfg)
	return runProgram(out, cfg)
}

// calibrated times package calibrate's work, reports how many times slower than the host the guest runs,
// and returns the program's environment with that factor as its tests' time scale (package testtime),
// unless the configuration asks for a larger one.
func calibrated(out io.Writer, cfg protocol.Config) []string {
	guest := calibrate.Best(3)
	scale := calibrate.Scale(guest, cfg.HostCalibration)
	env := make([]string, 0, len(cfg.Env)+1)
	for _, kv := range cfg.Env {
		if v, ok := strings.CutPrefix(kv, testtime.Env+"="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				scale = max(scale, f)
			}
			continue
		}
		env = append(env, kv)
	}
	fmt.Fprint(out, protocol.ScaleLine(scale, guest, cfg.HostCalibration))
	return append(env, fmt.Sprintf("%s=%.2f", testtime.Env, scale))
}

func readConfig(path string) (protocol.Config, error) {
	var cfg protocol.Config
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("decoding config %s: %w", path, err)
	}
	if cfg.Path == "" {
		return cfg, errors.New("reading config: no program path")
	}
	return cfg, nil
}

// powerOff flushes the output channel and the page cache and turns the machine off. Should that fail,
// returning from main panics the kernel, which the harness's panic=-1 and -no-reboot also end.
func powerOff(out *os.File) {
	// tcdrain: wait until the UART has sent every byte, or the tail of the output is lost.
	_ = ioctl(int(out.Fd()), tcsbrk, 1)
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprint(out, protocol.Line(protocol.KindError, fmt.Sprintf("powering off: %v", err)))
		time.Sleep(time.Second)
	}
}
