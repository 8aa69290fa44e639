package vm

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/factstream/factstream/integration/vm/internal/protocol"
)

// guestProgram is where the program under test lives inside the VM.
const guestProgram = "/bin/program"

// image is what goes into one initramfs.
type image struct {
	init    string            // host path of the init program
	program string            // host path of the program to run
	config  protocol.Config   // written to protocol.ConfigPath
	files   map[string]string // guest path → host path
	modules []moduleFile
}

// writeInitramfs writes the image as an uncompressed newc cpio archive: under TCG, gunzip inside the
// guest costs more than reading a larger file through QEMU's loader.
func writeInitramfs(dst string, img image) error {
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("creating initramfs: %w", err)
	}
	defer f.Close()
	if err := writeImage(newCPIOWriter(f), img); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing initramfs: %w", err)
	}
	return nil
}

func writeImage(c *cpioWriter, img image) error {
	cfg, err := json.Marshal(img.config)
	if err != nil {
		return fmt.Errorf("encoding vm config: %w", err)
	}
	steps := []func() error{
		func() error { return c.File("init", img.init) },
		func() error { return c.Bytes(strings.TrimPrefix(protocol.ConfigPath, "/"), 0o644, cfg) },
		// The kernel opens /dev/console for init before anything is mounted; init opens the output
		// port first thing, also before devtmpfs, to report its start at once.
		func() error { return c.CharDev("dev/console", 0o600, 5, 1) },
		func() error { return c.CharDev(strings.TrimPrefix(protocol.OutputDevice, "/"), 0o600, 4, 65) },
		func() error { return c.File(strings.TrimPrefix(guestProgram, "/"), img.program) },
		func() error { return c.Dir("root") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if err := writeExtra(c, img); err != nil {
		return err
	}
	return c.Close()
}

func writeExtra(c *cpioWriter, img image) error {
	for _, m := range img.modules {
		if err := c.File(strings.TrimPrefix(m.guest, "/"), m.host); err != nil {
			return err
		}
	}
	guests := make([]string, 0, len(img.files))
	for g := range img.files {
		guests = append(guests, g)
	}
	sort.Strings(guests)
	for _, g := range guests {
		name := strings.TrimPrefix(path.Clean("/"+g), "/")
		if err := c.File(name, img.files[g]); err != nil {
			return err
		}
	}
	return nil
}
